package openadr3

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Version is an OpenADR 3 protocol version.
type Version string

// The versions this package speaks.
const (
	V301 Version = "3.0.1"
	V310 Version = "3.1.0"
)

// Versions lists the versions this package speaks.
var Versions = []Version{V301, V310}

// ParseVersion accepts "3.0.1" or "3.1.0" (also "3.1").
func ParseVersion(s string) (Version, error) {
	switch s {
	case "3.0.1":
		return V301, nil
	case "3.1.0", "3.1":
		return V310, nil
	}
	return "", fmt.Errorf("openadr3 version %q: want 3.0.1 or 3.1.0", s)
}

// BasePath is where the VTN serves the version: /openadr3/3.0.1 or
// /openadr3/3.1.0.
func (v Version) BasePath() string { return "/openadr3/" + string(v) }

// ObjectType names an addressable object (objectTypes in the
// specification) or, in requests, a discriminator value.
type ObjectType string

// Object types.
const (
	ObjectProgram      ObjectType = "PROGRAM"
	ObjectEvent        ObjectType = "EVENT"
	ObjectReport       ObjectType = "REPORT"
	ObjectSubscription ObjectType = "SUBSCRIPTION"
	ObjectVEN          ObjectType = "VEN"
	ObjectResource     ObjectType = "RESOURCE"

	// Discriminators of 3.1.0 request bodies and of payload descriptors.
	VenVenRequest           ObjectType = "VEN_VEN_REQUEST"
	BlVenRequest            ObjectType = "BL_VEN_REQUEST"
	VenResourceRequest      ObjectType = "VEN_RESOURCE_REQUEST"
	BlResourceRequest       ObjectType = "BL_RESOURCE_REQUEST"
	EventPayloadDescriptor  ObjectType = "EVENT_PAYLOAD_DESCRIPTOR"
	ReportPayloadDescriptor ObjectType = "REPORT_PAYLOAD_DESCRIPTOR"
)

// Operation is an operation on an object, as named in subscriptions.
type Operation string

// Subscription operations.
const (
	OpRead   Operation = "READ"
	OpCreate Operation = "CREATE"
	OpUpdate Operation = "UPDATE"
	OpDelete Operation = "DELETE"
)

// NotificationOperation is how a notification names op: 3.1.0 uses the
// subscription names, 3.0.1 the HTTP methods (GET, POST, PUT, DELETE).
func NotificationOperation(v Version, op Operation) string {
	if v == V310 {
		return string(op)
	}
	switch op {
	case OpRead:
		return "GET"
	case OpCreate:
		return "POST"
	case OpUpdate:
		return "PUT"
	}
	return "DELETE"
}

// ParseNotificationOperation is the inverse of NotificationOperation and
// accepts either spelling.
func ParseNotificationOperation(s string) (Operation, error) {
	switch s {
	case "READ", "GET":
		return OpRead, nil
	case "CREATE", "POST":
		return OpCreate, nil
	case "UPDATE", "PUT":
		return OpUpdate, nil
	case "DELETE":
		return OpDelete, nil
	}
	return "", fmt.Errorf("notification operation %q: unknown", s)
}

// Payload types this package maps or reports.
const (
	PayloadImportCapacityLimit = "IMPORT_CAPACITY_LIMIT"
	PayloadSimple              = "SIMPLE"
	PayloadPrice               = "PRICE"
	PayloadDispatchSetpoint    = "DISPATCH_SETPOINT"

	PayloadUsage       = "USAGE"
	PayloadDemand      = "DEMAND"
	PayloadBaseline    = "BASELINE"
	PayloadDataQuality = "DATA_QUALITY"

	// AggregatedReport is the resourceName of a report on the sum of
	// several resources.
	AggregatedReport = "AGGREGATED_REPORT"
)

// ObjectMeta is what the VTN provisions on every addressable object.
type ObjectMeta struct {
	ID                   string     `json:"id,omitempty"`
	CreatedDateTime      DateTime   `json:"createdDateTime,omitempty"`
	ModificationDateTime DateTime   `json:"modificationDateTime,omitempty"`
	ObjectType           ObjectType `json:"objectType,omitempty"`
}

// Program is a demand-response program. Fields marked 3.0.1 exist only in
// that version (3.1.0 moved them to attributes).
type Program struct {
	ObjectMeta
	ProgramName          string               `json:"programName"`
	ProgramLongName      string               `json:"programLongName,omitempty"`      // 3.0.1
	RetailerName         string               `json:"retailerName,omitempty"`         // 3.0.1
	RetailerLongName     string               `json:"retailerLongName,omitempty"`     // 3.0.1
	ProgramType          string               `json:"programType,omitempty"`          // 3.0.1
	Country              string               `json:"country,omitempty"`              // 3.0.1
	PrincipalSubdivision string               `json:"principalSubdivision,omitempty"` // 3.0.1
	TimeZoneOffset       Duration             `json:"timeZoneOffset,omitempty"`       // 3.0.1
	IntervalPeriod       *IntervalPeriod      `json:"intervalPeriod,omitempty"`
	ProgramDescriptions  []ProgramDescription `json:"programDescriptions,omitempty"`
	BindingEvents        *bool                `json:"bindingEvents,omitempty"` // 3.0.1
	LocalPrice           *bool                `json:"localPrice,omitempty"`    // 3.0.1
	PayloadDescriptors   []PayloadDescriptor  `json:"payloadDescriptors,omitempty"`
	Attributes           []ValuesMap          `json:"attributes,omitempty"` // 3.1.0
	Targets              Targets              `json:"targets,omitzero"`
}

// ProgramDescription links to a description of a program.
type ProgramDescription struct {
	URL string `json:"URL"`
}

// Event asks VENs for something over a set of intervals.
type Event struct {
	ObjectMeta
	ProgramID          string              `json:"programID"`
	EventName          string              `json:"eventName,omitempty"`
	Duration           Duration            `json:"duration,omitempty"` // 3.1.0
	Priority           *int                `json:"priority,omitempty"`
	Targets            Targets             `json:"targets,omitzero"`
	ReportDescriptors  []ReportDescriptor  `json:"reportDescriptors,omitempty"`
	PayloadDescriptors []PayloadDescriptor `json:"payloadDescriptors,omitempty"`
	IntervalPeriod     *IntervalPeriod     `json:"intervalPeriod,omitempty"`
	// Intervals is required in 3.0.1 (an empty list is sent as []).
	Intervals []Interval `json:"intervals,omitzero"`
}

// Report carries what a VEN measured for an event.
type Report struct {
	ObjectMeta
	ProgramID          string              `json:"programID,omitempty"` // required in 3.0.1
	EventID            string              `json:"eventID"`
	ClientName         string              `json:"clientName"`
	ClientID           string              `json:"clientID,omitempty"` // 3.1.0, set by the VTN
	ReportName         string              `json:"reportName,omitempty"`
	PayloadDescriptors []PayloadDescriptor `json:"payloadDescriptors,omitempty"`
	Resources          []ReportResource    `json:"resources"`
}

// ReportResource is one resource's data in a report.
type ReportResource struct {
	ResourceName   string          `json:"resourceName"`
	IntervalPeriod *IntervalPeriod `json:"intervalPeriod,omitempty"`
	Intervals      []Interval      `json:"intervals"`
}

// Subscription asks the VTN to call back on operations on objects.
type Subscription struct {
	ObjectMeta
	ClientName       string            `json:"clientName"`
	ClientID         string            `json:"clientID,omitempty"`  // 3.1.0, set by the VTN
	ProgramID        string            `json:"programID,omitempty"` // required in 3.0.1
	ObjectOperations []ObjectOperation `json:"objectOperations"`
	Targets          Targets           `json:"targets,omitzero"`
}

// ObjectOperation is one callback of a subscription.
type ObjectOperation struct {
	Objects     []ObjectType `json:"objects"`
	Operations  []Operation  `json:"operations"`
	CallbackURL string       `json:"callbackUrl"`
	BearerToken string       `json:"bearerToken,omitempty"`
}

// Ven is a VEN client as an object on the VTN.
type Ven struct {
	ObjectMeta
	ClientID   string      `json:"clientID,omitempty"` // 3.1.0
	VenName    string      `json:"venName"`
	Attributes []ValuesMap `json:"attributes,omitempty"`
	Targets    Targets     `json:"targets,omitzero"`
	Resources  []Resource  `json:"resources,omitempty"` // 3.0.1
}

// Resource is a device or system a VEN controls.
type Resource struct {
	ObjectMeta
	ClientID     string      `json:"clientID,omitempty"` // 3.1.0
	ResourceName string      `json:"resourceName"`
	VenID        string      `json:"venID,omitempty"`
	Attributes   []ValuesMap `json:"attributes,omitempty"`
	Targets      Targets     `json:"targets,omitzero"`
}

// IntervalPeriod is the timing of an interval or, on an event, the
// default for its intervals.
type IntervalPeriod struct {
	Start          DateTime `json:"start,omitempty"` // required in 3.0.1
	Duration       Duration `json:"duration,omitempty"`
	RandomizeStart Duration `json:"randomizeStart,omitempty"`
}

// Interval is one interval of an event or report.
type Interval struct {
	ID             int             `json:"id"`
	IntervalPeriod *IntervalPeriod `json:"intervalPeriod,omitempty"`
	Payloads       []ValuesMap     `json:"payloads"`
}

// ValuesMap is a typed list of values (payloads, attributes, 3.0.1 targets).
type ValuesMap struct {
	Type   string  `json:"type"`
	Values []Value `json:"values"`
}

// PayloadDescriptor gives the units of a payload type. Programs carry
// both event and report descriptors (objectType tells them apart), so one
// struct holds the fields of both.
type PayloadDescriptor struct {
	ObjectType  ObjectType `json:"objectType,omitempty"`
	PayloadType string     `json:"payloadType"`
	ReadingType string     `json:"readingType,omitempty"` // report
	Units       string     `json:"units,omitempty"`
	Currency    string     `json:"currency,omitempty"`   // event
	Accuracy    *float64   `json:"accuracy,omitempty"`   // report
	Confidence  *int       `json:"confidence,omitempty"` // report
}

// ReportDescriptor asks VENs for a report. Nil pointers take the
// specification's defaults (see the accessor methods).
type ReportDescriptor struct {
	PayloadType     string  `json:"payloadType"`
	ReadingType     string  `json:"readingType,omitempty"`
	Units           string  `json:"units,omitempty"`
	Targets         Targets `json:"targets,omitzero"`
	Aggregate       *bool   `json:"aggregate,omitempty"`
	StartInterval   *int    `json:"startInterval,omitempty"`
	NumIntervals    *int    `json:"numIntervals,omitempty"`
	Historical      *bool   `json:"historical,omitempty"`
	Frequency       *int    `json:"frequency,omitempty"`
	Repeat          *int    `json:"repeat,omitempty"`
	ReportIntervals string  `json:"reportIntervals,omitempty"` // 3.1.0
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// Notification is what the VTN posts to a subscription's callback.
type Notification struct {
	ObjectType ObjectType      `json:"objectType"`
	Operation  string          `json:"operation"`
	Object     json.RawMessage `json:"object"`
	Targets    Targets         `json:"targets,omitzero"`
}

// Problem is the error body of 4xx and 5xx answers.
type Problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title,omitempty"`
	Status   int    `json:"status,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Error is an OAuth 2 error code (RFC 6749 §5.2) on token endpoint
	// problems; an extension member.
	Error string `json:"error,omitempty"`
}

// AuthError is the 3.0.1 token endpoint's 400 body (RFC 6749 §5.2).
type AuthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	ErrorURI         string `json:"error_uri,omitempty"`
}

// TokenResponse is the token endpoint's 200 body.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// AuthServerInfo is the body of GET /auth/server (3.1.0).
type AuthServerInfo struct {
	TokenURL string `json:"tokenURL"`
}

// Point is a point on a curve.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// ValueKind says which member of a Value is set.
type ValueKind uint8

// Value kinds.
const (
	KindNumber ValueKind = iota
	KindString
	KindBool
	KindPoint
)

// Value is one element of a valuesMap: a number, a string, a boolean or a
// point.
type Value struct {
	Kind  ValueKind
	Num   float64
	Str   string
	Bool  bool
	Point Point
}

// Num returns a number value.
func Num(x float64) Value { return Value{Kind: KindNumber, Num: x} }

// Str returns a string value.
func Str(s string) Value { return Value{Kind: KindString, Str: s} }

// String formats v as text (numbers in their shortest form).
func (v Value) String() string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindBool:
		return strconv.FormatBool(v.Bool)
	case KindPoint:
		return fmt.Sprintf("(%g,%g)", v.Point.X, v.Point.Y)
	}
	return strconv.FormatFloat(v.Num, 'g', -1, 64)
}

// MarshalJSON encodes the set member.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case KindString:
		return json.Marshal(v.Str)
	case KindBool:
		return json.Marshal(v.Bool)
	case KindPoint:
		return json.Marshal(v.Point)
	case KindNumber:
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return nil, fmt.Errorf("value %v: not a finite number", v.Num)
		}
		return json.Marshal(v.Num)
	}
	return nil, fmt.Errorf("value kind %d: unknown", v.Kind)
}

// UnmarshalJSON decodes a number, string, boolean or {x, y} point.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("value: empty")
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		*v = Str(s)
	case 't', 'f':
		var x bool
		if err := json.Unmarshal(b, &x); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		*v = Value{Kind: KindBool, Bool: x}
	case '{':
		var p struct{ X, Y *float64 }
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("value: point: %w", err)
		}
		if p.X == nil || p.Y == nil {
			return errors.New("value: point needs x and y")
		}
		*v = Value{Kind: KindPoint, Point: Point{X: *p.X, Y: *p.Y}}
	default:
		var x float64
		if err := json.Unmarshal(b, &x); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		*v = Num(x)
	}
	return nil
}

// Target is one target in a version-neutral form: Type is the 3.0.1
// valuesMap type, or "" for a 3.1.0 target string.
type Target struct {
	Type, Value string
}

// untypedTarget is the 3.0.1 valuesMap type that carries 3.1.0 target
// strings (which have no type) when an object written in 3.1.0 is read in
// 3.0.1; a private string of this package.
const untypedTarget = "TARGET"

// VENName is the 3.0.1 target type naming a VEN.
const VENName = "VEN_NAME"

// Targets is a list of targets in one of the two wire formats: Names
// (3.1.0: strings) or Maps (3.0.1: valuesMaps). The zero value is "no
// targets" and is omitted from objects.
type Targets struct {
	Names []string
	Maps  []ValuesMap
}

// NameTargets returns 3.1.0 targets.
func NameTargets(names ...string) Targets {
	return Targets{Names: append([]string{}, names...)}
}

// MapTargets returns 3.0.1 targets of one type.
func MapTargets(typ string, values ...string) Targets {
	vm := ValuesMap{Type: typ}
	for _, s := range values {
		vm.Values = append(vm.Values, Str(s))
	}
	return Targets{Maps: []ValuesMap{vm}}
}

// IsZero reports whether t holds no list at all (not even an empty one).
func (t Targets) IsZero() bool { return t.Names == nil && t.Maps == nil }

// Len is the number of targets.
func (t Targets) Len() int { return len(t.Pairs()) }

// MarshalJSON encodes Maps if set, else Names.
func (t Targets) MarshalJSON() ([]byte, error) {
	switch {
	case t.Maps != nil:
		return json.Marshal(t.Maps)
	case t.Names != nil:
		return json.Marshal(t.Names)
	}
	return []byte("null"), nil
}

// UnmarshalJSON decodes either wire format; mixing them is an error.
func (t *Targets) UnmarshalJSON(b []byte) error {
	*t = Targets{}
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("targets: %w", err)
	}
	t.Names = []string{}
	for i, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) > 0 && r[0] == '{' {
			if len(t.Names) > 0 {
				return fmt.Errorf("targets[%d]: a valuesMap among strings", i)
			}
			var vm ValuesMap
			if err := json.Unmarshal(r, &vm); err != nil {
				return fmt.Errorf("targets[%d]: %w", i, err)
			}
			t.Maps = append(t.Maps, vm)
			continue
		}
		if t.Maps != nil {
			return fmt.Errorf("targets[%d]: a string among valuesMaps", i)
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return fmt.Errorf("targets[%d]: %w", i, err)
		}
		t.Names = append(t.Names, s)
	}
	if t.Maps != nil {
		t.Names = nil
	}
	return nil
}

// Pairs returns the targets in version-neutral form. The 3.0.1 type
// "TARGET" is read as untyped.
func (t Targets) Pairs() []Target {
	var out []Target
	for _, n := range t.Names {
		out = append(out, Target{Value: n})
	}
	for _, m := range t.Maps {
		typ := m.Type
		if typ == untypedTarget {
			typ = ""
		}
		for _, v := range m.Values {
			out = append(out, Target{Type: typ, Value: v.String()})
		}
	}
	return out
}

// TargetsOf encodes pairs in v's wire format: 3.1.0 keeps only the values,
// 3.0.1 groups values by type (untyped ones under "TARGET"). An empty list
// stays an empty (not absent) list.
func TargetsOf(v Version, pairs []Target) Targets {
	if v == V310 {
		out := Targets{Names: []string{}}
		seen := map[string]bool{}
		for _, p := range pairs {
			if !seen[p.Value] {
				seen[p.Value] = true
				out.Names = append(out.Names, p.Value)
			}
		}
		return out
	}
	out := Targets{Maps: []ValuesMap{}}
	idx := map[string]int{}
	for _, p := range pairs {
		typ := p.Type
		if typ == "" {
			typ = untypedTarget
		}
		i, ok := idx[typ]
		if !ok {
			i = len(out.Maps)
			idx[typ] = i
			out.Maps = append(out.Maps, ValuesMap{Type: typ, Values: []Value{}})
		}
		out.Maps[i].Values = append(out.Maps[i].Values, Str(p.Value))
	}
	return out
}

// For returns t in v's wire format (unchanged when already in it, and the
// zero Targets stays zero).
func (t Targets) For(v Version) Targets {
	if t.IsZero() || (v == V310 && t.Maps == nil) || (v == V301 && t.Maps != nil) {
		return t
	}
	return TargetsOf(v, t.Pairs())
}

// Check reports whether t is in v's wire format.
func (t Targets) Check(v Version) error {
	if v == V310 && t.Maps != nil {
		return errors.New("targets: 3.1.0 targets are strings, not valuesMaps")
	}
	if v == V301 && t.Names != nil && len(t.Names) > 0 {
		return errors.New("targets: 3.0.1 targets are valuesMaps {type, values}, not strings")
	}
	for _, m := range t.Maps {
		if m.Type == "" || len(m.Type) > 128 {
			return errors.New("targets: valuesMap type must be 1 to 128 characters")
		}
		if m.Values == nil {
			return errors.New("targets: valuesMap without values")
		}
	}
	for _, n := range t.Names {
		if n == "" || len(n) > 128 {
			return errors.New("targets: target must be 1 to 128 characters")
		}
	}
	return nil
}

// match reports whether any of have matches any of want: equal values,
// and equal types or one of them untyped.
func match(have, want []Target) bool {
	for _, h := range have {
		for _, w := range want {
			if h.Value == w.Value && (h.Type == w.Type || h.Type == "" || w.Type == "") {
				return true
			}
		}
	}
	return false
}

// keep returns the pairs of have that match want.
func keep(have, want []Target) []Target {
	out := []Target{}
	for _, h := range have {
		if match([]Target{h}, want) {
			out = append(out, h)
		}
	}
	return out
}

// checkObjectID reports whether id is a valid objectID.
func checkObjectID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("object id %q: want 1 to 128 characters", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("object id %q: only letters, digits, _ and - allowed", id)
		}
	}
	return nil
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}
