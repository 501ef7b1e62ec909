package config

import (
	"math"
	"slices"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// decoder moves the generic TOML tree into a Config, refusing unknown keys
// and values of the wrong type. Semantic checks are validate's.
type decoder struct {
	doc         *document
	errs        []*Error
	unsupported *Error // schema other than SchemaVersion: the only error reported
}

func (d *decoder) fail(path []string, format string, args ...any) {
	d.errs = append(d.errs, d.doc.errorf(d.doc.line(path), fieldPath(path), format, args...))
}

func (d *decoder) decode(tree map[string]any) *Config {
	c := Default()
	c.Directory = map[string]string{}
	d.unknown(tree, nil, "schema", "board", "sip", "account", "audio", "phone", "directory", "api", "log", "tones")

	schema := []string{"schema"}
	if v, ok := tree["schema"]; !ok {
		d.fail(schema, "required key missing (this firmware reads %d)", SchemaVersion)
	} else if n, ok := d.integer(schema, v); ok {
		c.Schema = n
		if n != SchemaVersion {
			d.unsupported = d.doc.errorf(d.doc.line(schema), "schema", "unsupported schema %d (this firmware reads %d)", n, SchemaVersion)
		}
	}

	if t, p := d.table(tree, nil, "board"); t != nil {
		d.unknown(t, p, "name", "file")
		d.str(t, p, "name", &c.Board.Name)
		d.str(t, p, "file", &c.Board.File)
	}
	if t, p := d.table(tree, nil, "sip"); t != nil {
		d.unknown(t, p, "listen", "transport", "user_agent")
		d.str(t, p, "listen", &c.SIP.Listen)
		d.str(t, p, "transport", &c.SIP.Transport)
		d.str(t, p, "user_agent", &c.SIP.UserAgent)
	}
	if t, p := d.table(tree, nil, "account"); t != nil {
		d.unknown(t, p, "user", "display_name", "password", "auth_user", "domain", "registrar", "backup_registrars",
			"outbound_proxy", "register_expires", "keepalive")
		d.str(t, p, "user", &c.Account.User)
		d.str(t, p, "display_name", &c.Account.DisplayName)
		var pw string
		d.str(t, p, "password", &pw)
		c.Account.Password = Secret(pw)
		d.str(t, p, "auth_user", &c.Account.AuthUser)
		d.str(t, p, "domain", &c.Account.Domain)
		d.str(t, p, "registrar", &c.Account.Registrar)
		d.str(t, p, "outbound_proxy", &c.Account.OutboundProxy)
		d.strings(t, p, "backup_registrars", &c.Account.BackupRegistrars)
		d.duration(t, p, "register_expires", &c.Account.RegisterExpires)
		d.duration(t, p, "keepalive", &c.Account.KeepAlive)
	}
	if t, p := d.table(tree, nil, "audio"); t != nil {
		d.unknown(t, p, "device", "codecs", "rtp_port_min", "rtp_port_max", "wav", "pulse", "state_dir", "latency", "ringer_volume")
		d.decodeAudioSound(t, p, c)
		d.str(t, p, "device", &c.Audio.Device)
		d.strings(t, p, "codecs", &c.Audio.Codecs)
		d.int(t, p, "rtp_port_min", &c.Audio.RTPPortMin)
		d.int(t, p, "rtp_port_max", &c.Audio.RTPPortMax)
		if w, p := d.table(t, p, "wav"); w != nil {
			d.unknown(w, p, "input", "output")
			d.str(w, p, "input", &c.Audio.WAV.Input)
			d.str(w, p, "output", &c.Audio.WAV.Output)
		}
		if s, p := d.table(t, p, "pulse"); s != nil {
			d.unknown(s, p, "server", "sink", "source", "cookie")
			d.str(s, p, "cookie", &c.Audio.Pulse.Cookie)
			d.str(s, p, "server", &c.Audio.Pulse.Server)
			d.str(s, p, "sink", &c.Audio.Pulse.Sink)
			d.str(s, p, "source", &c.Audio.Pulse.Source)
		}
	}
	if t, p := d.table(tree, nil, "phone"); t != nil {
		d.unknown(t, p, "interdigit_timeout", "short_interdigit_timeout", "offhook_timeout", "no_answer_timeout", "dial_plan")
		d.duration(t, p, "interdigit_timeout", &c.Phone.InterdigitTimeout)
		d.duration(t, p, "short_interdigit_timeout", &c.Phone.ShortInterdigitTimeout)
		d.str(t, p, "dial_plan", &c.Phone.DialPlan)
		d.duration(t, p, "offhook_timeout", &c.Phone.OffhookTimeout)
		d.duration(t, p, "no_answer_timeout", &c.Phone.NoAnswerTimeout)
	}
	if t, p := d.table(tree, nil, "directory"); t != nil {
		// Every key is an entry: keys are checked by validate, values here.
		for _, k := range sortedKeys(t) {
			var uri string
			if d.str(t, p, k, &uri) {
				c.Directory[k] = uri
			}
		}
	}
	if t, p := d.table(tree, nil, "api"); t != nil {
		d.unknown(t, p, "listen")
		d.str(t, p, "listen", &c.API.Listen)
	}
	if t, p := d.table(tree, nil, "log"); t != nil {
		d.unknown(t, p, "level", "format")
		d.str(t, p, "level", &c.Log.Level)
		d.str(t, p, "format", &c.Log.Format)
	}
	d.decodeTones(tree, c)

	return c
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func child(parent []string, key string) []string {
	return append(slicesClone(parent), key)
}

// unknown reports every key of m that is not in known.
func (d *decoder) unknown(m map[string]any, path []string, known ...string) {
	for _, k := range sortedKeys(m) {
		if !slices.Contains(known, k) {
			d.fail(child(path, k), "unknown key")
		}
	}
}

// table returns the sub-table key of m (nil when absent or not a table).
func (d *decoder) table(m map[string]any, path []string, key string) (map[string]any, []string) {
	p := child(path, key)
	v, ok := m[key]
	if !ok {
		return nil, p
	}
	t, ok := v.(map[string]any)
	if !ok {
		d.fail(p, "want a table, got %s", typeName(v))
		return nil, p
	}
	return t, p
}

// str sets *dst to m[key] when it is present and a string.
func (d *decoder) str(m map[string]any, path []string, key string, dst *string) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		d.fail(child(path, key), "want a string, got %s", typeName(v))
		return false
	}
	*dst = s
	return true
}

func (d *decoder) integer(path []string, v any) (int, bool) {
	n, ok := v.(int64)
	if !ok {
		d.fail(path, "want an integer, got %s", typeName(v))
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 { // int is 32 bits on armv7
		d.fail(path, "integer %d out of range", n)
		return 0, false
	}
	return int(n), true
}

func (d *decoder) int(m map[string]any, path []string, key string, dst *int) {
	if v, ok := m[key]; ok {
		if n, ok := d.integer(child(path, key), v); ok {
			*dst = n
		}
	}
}

func (d *decoder) strings(m map[string]any, path []string, key string, dst *[]string) {
	v, ok := m[key]
	if !ok {
		return
	}
	p := child(path, key)
	a, ok := v.([]any)
	if !ok {
		d.fail(p, "want an array of strings, got %s", typeName(v))
		return
	}
	// Elements of the wrong type become "" and are reported here; validate
	// skips their paths and still checks the others.
	out := make([]string, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			d.fail(child(p, elem(i)), "want a string, got %s", typeName(e))
			continue
		}
		out[i] = s
	}
	*dst = out
}

func (d *decoder) duration(m map[string]any, path []string, key string, dst *Duration) {
	var s string
	if !d.str(m, path, key, &s) {
		return
	}
	var v Duration
	if err := v.UnmarshalText([]byte(s)); err != nil {
		d.fail(child(path, key), "%s", err.Error())
		return
	}
	*dst = v
}

// typeName names a decoded TOML value's type as the TOML spec does.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case time.Time:
		return "offset date-time"
	case toml.LocalDateTime:
		return "local date-time"
	case toml.LocalDate:
		return "local date"
	case toml.LocalTime:
		return "local time"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	}
	return "unsupported value"
}
