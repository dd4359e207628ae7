package sysload

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// defaultModelJSON holds the parameters Fit found on ERCOT's hourly native
// load of 2020 and 2021 for June–September (numbers only, no load data).
// TestDefaultMatchesRefit refits them from the real files; run it with
// -update to rewrite this file.
//
//go:embed default_model.json
var defaultModelJSON string

// Default returns the model fitted on ERCOT's 2020–2021 hourly native load
// for the 4CP months (June–September), so that live sites and demos need no
// load history files. Each call returns a fresh copy.
func Default() Model {
	m, err := DecodeModel(defaultModelJSON)
	if err != nil {
		// Unreachable: TestDefault decodes the embedded file.
		panic(fmt.Sprintf("sysload: embedded default model: %v", err))
	}
	return m
}

// DecodeModel parses a model from JSON (as encoding/json writes a Model),
// rejecting unknown fields, and validates it.
func DecodeModel(text string) (Model, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return Model{}, fmt.Errorf("decode load model: %w", err)
	}
	if dec.More() {
		return Model{}, fmt.Errorf("decode load model: data after the model")
	}
	if err := m.Validate(); err != nil {
		return Model{}, fmt.Errorf("decode load model: %w", err)
	}
	return m, nil
}
