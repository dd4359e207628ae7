// Package openadr3 speaks OpenADR 3 (REST/JSON), versions 3.0.1 and 3.1.0,
// as both ends of the wire:
//
//   - VEN is the site's client: it obtains a bearer token by OAuth 2 client
//     credentials, registers its ven object, polls the VTN's programs and
//     events (and, where configured, subscribes with a webhook so it hears
//     of changes at once), maps every event interval to a demand.Event and
//     sends the full current set to the site (it implements demand.Source).
//     It keeps each event's lifecycle (received, scheduled, active,
//     completed, cancelled) in a store.Store, so a restarted VEN resumes an
//     event in force before the VTN answers, and it posts the USAGE, DEMAND
//     and BASELINE reports that events ask for from an injected Readings.
//   - VTN is a small server (an http.Handler with a Run for notification
//     delivery) for demos, tests and single-utility deployments: programs,
//     events, reports, subscriptions with webhook delivery, vens and
//     resources, a client-credentials token endpoint with the roles and
//     scopes of the specification, both versions under their own base path
//     (BasePath) over one store.Store.
//   - Client is the plain REST client both of those rely on, also used by
//     business-logic tools (`gridminer vtn event`).
//
// The wire types follow the official OpenAPI documents field by field. The
// two versions differ on the wire mainly in targets (3.0.1: a list of
// valuesMap {type, values}; 3.1.0: a list of strings): Targets holds either
// form and converts between them. Durations (ISO 8601, "P9999Y" meaning
// infinity) and date-times (where "0001-01-01" means "now") are kept as
// their wire strings and parsed where they are used, so objects round-trip
// byte for byte.
//
// Mapping of event payloads to demand.Event: IMPORT_CAPACITY_LIMIT is a Cap
// and DISPATCH_SETPOINT a Target (units KW by default, or W or MW, from the
// payload descriptor of the event, else of the program), SIMPLE a Level
// 0–3, PRICE a Price in $/MWh (units KWH by default, i.e. $/kWh, or MWH;
// currency USD). Other payload types are ignored.
//
// It does not speak OpenADR 2.0b, the MQTT notifier binding of 3.1.0, or
// forecast (historical=false) reports; the VTN keeps tokens in memory and is
// not meant to serve thousands of VENs. It does no dispatch: it only turns
// what the VTN says into demand events (internal/demand resolves them).
package openadr3
