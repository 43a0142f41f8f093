// Package docs holds the JSON Schema of ipvsadm's --json output
// (ipvsadm.schema.json in this directory), embedded so that tests validate
// against it wherever they run (the VM has no source tree).
package docs

import _ "embed"

// Schema is the text of ipvsadm.schema.json.
//
//go:embed ipvsadm.schema.json
var Schema []byte
