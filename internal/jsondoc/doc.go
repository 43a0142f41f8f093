// Package jsondoc is the JSON form of ipvsadm's views (--json, an
// extension of this ipvsadm): the documents that -L --json writes and
// -R --json reads, and the connection lines of -L -c --json. The schema
// is docs/ipvsadm.schema.json; SchemaVersion changes only when a key is
// removed, renamed or changes type.
//
// Rules of the shape: every key is always present (null where a value
// does not apply or a view did not read it); keys are lower snake_case
// with units in the name; counters are exact unsigned 64-bit integers;
// addresses are numeric strings; the shape never depends on the text
// view options (--stats, --rate, --exact, ...).
package jsondoc
