package service

import _ "embed"

// openAPI is the OpenAPI document of the whole HTTP API, served at /api/openapi.yaml.
//
//go:embed openapi.yaml
var openAPI []byte
