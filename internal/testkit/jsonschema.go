package testkit

import (
	"bytes"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ipvsadm-go/ipvsadm/docs"
)

// SchemaPath is the JSON schema of ipvsadm's --json output, relative to
// the module root (embedded as docs.Schema).
const SchemaPath = "docs/ipvsadm.schema.json"

// schemaID is the $id of the schema file.
const schemaID = "https://github.com/ipvsadm-go/ipvsadm/docs/ipvsadm.schema.json"

var (
	schemaOnce     sync.Once
	schemaCompiler *jsonschema.Compiler
	schemaErr      error
	schemaMu       sync.Mutex
	schemas        = map[string]*jsonschema.Schema{}
)

// Schema returns the compiled definition def of the schema file ("" for
// the document itself, else a name under $defs such as "connection").
func Schema(t testing.TB, def string) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.Schema))
		if err != nil {
			schemaErr = err
			return
		}
		schemaCompiler = jsonschema.NewCompiler()
		schemaErr = schemaCompiler.AddResource(schemaID, doc)
	})
	if schemaErr != nil {
		t.Fatalf("schema %s: %v", SchemaPath, schemaErr)
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemas[def]; ok {
		return s
	}
	loc := schemaID
	if def != "" {
		loc += "#/$defs/" + def
	}
	s, err := schemaCompiler.Compile(loc)
	if err != nil {
		t.Fatalf("schema %s: %v", loc, err)
	}
	schemas[def] = s
	return s
}

// ValidateJSON checks that data is one JSON value valid against the
// schema's definition def (see Schema).
func ValidateJSON(t testing.TB, def string, data []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	if err := Schema(t, def).Validate(v); err != nil {
		t.Fatalf("invalid against %s#%s: %v\n%s", SchemaPath, def, err, data)
	}
}

// ValidateJSONLines checks every line of data against def.
func ValidateJSONLines(t testing.TB, def string, data []byte) {
	t.Helper()
	for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(line) > 0 {
			ValidateJSON(t, def, line)
		}
	}
}
