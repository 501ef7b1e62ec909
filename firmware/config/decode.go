package config

import (
	"github.com/deskphone/phoned/firmware/tomlpos"
)

// decoder moves the generic TOML tree into a Config, refusing unknown keys
// and values of the wrong type. Semantic checks are validate's.
type decoder struct {
	tomlpos.Fields
	doc         *document
	errs        []*Error
	unsupported *Error // schema other than SchemaVersion: the only error reported
}

func (d *decoder) fail(path []string, format string, args ...any) {
	e := d.doc.errorf(d.doc.line(path), fieldPath(path), format, args...)
	e.File, e.Line = d.doc.at(path)
	d.errs = append(d.errs, e)
}

func (d *decoder) decode(tree map[string]any) *Config {
	c := Default()
	c.Directory = map[string]string{}
	d.Unknown(tree, nil, "schema", "board", "sip", "account", "audio", "phone", "directory", "api", "log", "tones", "system", "provisioning")

	schema := []string{"schema"}
	if v, ok := tree["schema"]; !ok {
		d.fail(schema, "required key missing: add the line `schema = %d` at the top of the file", SchemaVersion)
	} else if n, ok := d.Integer(schema, v); ok {
		c.Schema = n
		if n != SchemaVersion {
			d.unsupported = d.doc.errorf(d.doc.line(schema), "schema", "unsupported schema %d (this firmware reads %d)", n, SchemaVersion)
		}
	}

	if t, p := d.Table(tree, nil, "board"); t != nil {
		d.Unknown(t, p, "name", "file")
		d.Str(t, p, "name", &c.Board.Name)
		d.Str(t, p, "file", &c.Board.File)
	}
	if t, p := d.Table(tree, nil, "sip"); t != nil {
		d.Unknown(t, p, "listen", "transport", "user_agent", "ca", "client_cert", "client_key", "dns",
			"accept_from", "untrusted", "max_server_transactions", "rate_limit", "rate_burst")
		d.decodeSIPGuard(t, p, c)
		d.Strings(t, p, "dns", &c.SIP.DNS)
		d.Str(t, p, "listen", &c.SIP.Listen)
		d.Str(t, p, "transport", &c.SIP.Transport)
		d.Str(t, p, "user_agent", &c.SIP.UserAgent)
		d.Str(t, p, "ca", &c.SIP.CA)
		d.Str(t, p, "client_cert", &c.SIP.ClientCert)
		d.Str(t, p, "client_key", &c.SIP.ClientKey)
	}
	if t, p := d.Table(tree, nil, "account"); t != nil {
		d.Unknown(t, p, "user", "display_name", "password", "auth_user", "realm", "domain", "registrar", "backup_registrars",
			"outbound_proxy", "register_expires", "keepalive")
		d.Str(t, p, "user", &c.Account.User)
		d.Str(t, p, "display_name", &c.Account.DisplayName)
		var pw string
		d.Str(t, p, "password", &pw)
		c.Account.Password = Secret(pw)
		d.Str(t, p, "auth_user", &c.Account.AuthUser)
		d.Str(t, p, "realm", &c.Account.Realm)
		d.Str(t, p, "domain", &c.Account.Domain)
		d.Str(t, p, "registrar", &c.Account.Registrar)
		d.Str(t, p, "outbound_proxy", &c.Account.OutboundProxy)
		d.Strings(t, p, "backup_registrars", &c.Account.BackupRegistrars)
		d.duration(t, p, "register_expires", &c.Account.RegisterExpires)
		d.duration(t, p, "keepalive", &c.Account.KeepAlive)
	}
	if t, p := d.Table(tree, nil, "audio"); t != nil {
		d.Unknown(t, p, "device", "codecs", "rtp_port_min", "rtp_port_max", "rtp_timeout", "dscp", "symmetric_rtp", "ptime", "jitter_min", "jitter_max", "wav", "pulse", "state_dir", "latency", "ringer_volume", "srtp", "srtp_allow_plain_sip")
		d.decodeAudioSound(t, p, c)
		d.decodeAudioSRTP(t, p, c)
		d.Str(t, p, "device", &c.Audio.Device)
		d.Strings(t, p, "codecs", &c.Audio.Codecs)
		d.Int(t, p, "rtp_port_min", &c.Audio.RTPPortMin)
		d.Int(t, p, "rtp_port_max", &c.Audio.RTPPortMax)
		d.duration(t, p, "rtp_timeout", &c.Audio.RTPTimeout)
		d.Int(t, p, "dscp", &c.Audio.DSCP)
		d.Bool(t, p, "symmetric_rtp", &c.Audio.SymmetricRTP)
		d.duration(t, p, "ptime", &c.Audio.Ptime)
		d.duration(t, p, "jitter_min", &c.Audio.JitterMin)
		d.duration(t, p, "jitter_max", &c.Audio.JitterMax)
		if w, p := d.Table(t, p, "wav"); w != nil {
			d.Unknown(w, p, "input", "output")
			d.Str(w, p, "input", &c.Audio.WAV.Input)
			d.Str(w, p, "output", &c.Audio.WAV.Output)
		}
		if s, p := d.Table(t, p, "pulse"); s != nil {
			d.Unknown(s, p, "server", "sink", "source", "cookie")
			d.Str(s, p, "cookie", &c.Audio.Pulse.Cookie)
			d.Str(s, p, "server", &c.Audio.Pulse.Server)
			d.Str(s, p, "sink", &c.Audio.Pulse.Sink)
			d.Str(s, p, "source", &c.Audio.Pulse.Source)
		}
	}
	if t, p := d.Table(tree, nil, "phone"); t != nil {
		d.Unknown(t, p, "interdigit_timeout", "short_interdigit_timeout", "offhook_timeout", "no_answer_timeout", "dial_plan", "max_calls", "call_waiting", "echo_test", "tone_test")
		d.Int(t, p, "max_calls", &c.Phone.MaxCalls)
		d.Str(t, p, "echo_test", &c.Phone.EchoTest)
		d.Str(t, p, "tone_test", &c.Phone.ToneTest)
		d.Bool(t, p, "call_waiting", &c.Phone.CallWaiting)
		d.duration(t, p, "interdigit_timeout", &c.Phone.InterdigitTimeout)
		d.duration(t, p, "short_interdigit_timeout", &c.Phone.ShortInterdigitTimeout)
		d.Str(t, p, "dial_plan", &c.Phone.DialPlan)
		d.duration(t, p, "offhook_timeout", &c.Phone.OffhookTimeout)
		d.duration(t, p, "no_answer_timeout", &c.Phone.NoAnswerTimeout)
	}
	if t, p := d.Table(tree, nil, "directory"); t != nil {
		// Every key is an entry: keys are checked by validate, values here.
		for _, k := range tomlpos.SortedKeys(t) {
			var uri string
			if d.Str(t, p, k, &uri) {
				c.Directory[k] = uri
			}
		}
	}
	if t, p := d.Table(tree, nil, "api"); t != nil {
		d.decodeAPI(t, p, c)
	}
	d.decodeSystem(tree, c)
	if t, p := d.Table(tree, nil, "log"); t != nil {
		d.Unknown(t, p, "level", "format", "sip_trace")
		d.Str(t, p, "level", &c.Log.Level)
		d.Str(t, p, "format", &c.Log.Format)
		d.Bool(t, p, "sip_trace", &c.Log.SIPTrace)
	}
	d.decodeTones(tree, c)
	d.decodeProvisioning(tree, c)

	return c
}

func child(parent []string, key string) []string {
	return append(slicesClone(parent), key)
}

func (d *decoder) duration(m map[string]any, path []string, key string, dst *Duration) {
	switch n := m[key].(type) {
	case int64, float64:
		// The commonest slip: a bare number, whose unit nobody can guess.
		d.fail(child(path, key), "want a duration string with a unit, e.g. \"%vs\" or \"%vms\", got the number %v", n, n, n)
		return
	}
	var s string
	if !d.Str(m, path, key, &s) {
		return
	}
	var v Duration
	if err := v.UnmarshalText([]byte(s)); err != nil {
		d.fail(child(path, key), "%s", err.Error())
		return
	}
	*dst = v
}
