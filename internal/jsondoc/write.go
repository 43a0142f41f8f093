package jsondoc

import (
	"bytes"
	"encoding/json"
	"io"
)

// Write writes v as one JSON document and a newline: compact, or indented
// by two spaces with pretty. The document is encoded whole before anything
// is written, so a failure writes nothing.
func Write(w io.Writer, v any, pretty bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
