package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// plainJSONError says what is wrong with a request body in words an admin
// with curl understands. encoding/json's own messages name Go types
// ("cannot unmarshal string into Go struct field .offhook of type bool"),
// which say nothing to the caller and show the firmware's insides.
func plainJSONError(err error) string {
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooBig):
		return fmt.Sprintf("body larger than %d bytes", MaxBody)
	case errors.Is(err, io.EOF):
		return "empty body: want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "bad JSON: the body ends before the JSON object does"
	case errors.As(err, &syntax):
		return fmt.Sprintf("bad JSON: not valid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		return typeMessage(typeErr)
	}
	msg := err.Error()
	// DisallowUnknownFields: `json: unknown field "volume"`.
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + rest
	}
	if strings.HasPrefix(msg, "trailing data") {
		return msg
	}
	return "bad JSON: want one JSON object"
}

// typeMessage names the field and the kind of value it wants.
func typeMessage(e *json.UnmarshalTypeError) string {
	if e.Field == "" {
		return fmt.Sprintf("bad JSON: want a JSON object, got %s", article(e.Value))
	}
	field := fmt.Sprintf("%q", e.Field)
	var want string
	switch e.Type.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.String:
		want = "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Slice, reflect.Array:
		want = "a list"
	default:
		want = "an object"
	}
	return fmt.Sprintf("%s must be %s, not %s", field, want, article(e.Value))
}

// article turns encoding/json's description of a JSON value ("string",
// "number", "bool", "array", "object", "number 1.5") into words.
func article(v string) string {
	switch {
	case v == "array" || v == "object":
		return "an " + v
	case v == "bool":
		return "true or false"
	case strings.HasPrefix(v, "number"):
		return "a number"
	case v == "string":
		return "a string"
	case v == "null":
		return "null"
	}
	return "a value of another kind"
}
