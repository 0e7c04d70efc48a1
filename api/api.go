// Package api contains the OpenAPI 3.1 description of the hub's JSON API.
// The web package serves it at /api/openapi.json and validates request
// bodies against its schemas, and a test in that package checks that it
// describes every API route and no other.
package api

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document, as JSON.
//
//go:embed openapi.json
var OpenAPI []byte
