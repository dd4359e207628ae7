// Package spectest holds the end-to-end tests of package openadr3: a VTN
// and VENs over real HTTP, every request and response they exchange
// (notifications included) validated against the official OpenAPI
// documents of OpenADR 3.0.1 and 3.1.0 with github.com/getkin/kin-openapi.
// The documents are read in place from ../shared/specs/openadr3 (or
// $OPENADR3_SPECS); without them the exchanges are not validated and the
// tests say so.
//
// It has no code of its own besides this comment: everything is in the
// _test.go files.
package spectest
