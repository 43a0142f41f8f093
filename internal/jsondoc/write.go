package jsondoc

import (
	"encoding/json"
	"io"
)

// Write writes v as one JSON document and a newline: compact, or indented
// by two spaces with pretty. The document is encoded whole before anything
// is written, so a failure writes nothing.
func Write(w io.Writer, v any, pretty bool) error {
	var b []byte
	var err error
	if pretty {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
