package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Apply says what it takes for a changed key to take effect in a running
// phone (live reconfiguration). The daemon applies a new config between
// events and never during a call.
type Apply int

const (
	// Hot keys take effect at once (timers, tones, dial plan, directory,
	// volumes, log level) or at the next call (media settings).
	Hot Apply = iota
	// Reregister keys belong to the account: the phone re-registers with
	// the new values (unregistering the old binding first).
	Reregister
	// RestartIdle keys are bound at start (listen addresses, transport,
	// board, sound device): the phone restarts itself once idle.
	RestartIdle
)

func (a Apply) String() string {
	switch a {
	case Hot:
		return "hot"
	case Reregister:
		return "re-register"
	case RestartIdle:
		return "restart when idle"
	}
	return fmt.Sprintf("Apply(%d)", int(a))
}

// MarshalText names the class in JSON (status, API answers).
func (a Apply) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Key is one config key: its dotted path, what a change of it takes, and
// how to read it. Keys is the one table that Diff and Print use; a test
// checks that it covers every field of Config.
type Key struct {
	Path   string
	Apply  Apply
	Secret bool // printed redacted
	get    func(*Config) any
}

// Value is the key's value in c.
func (k Key) Value(c *Config) any { return k.get(c) }

// Keys lists every key in file order, tables in the order of the
// documentation. Maps (directory, tones.custom) are one key each.
var Keys = []Key{
	{Path: "schema", Apply: RestartIdle, get: func(c *Config) any { return c.Schema }},
	{Path: "board.name", Apply: RestartIdle, get: func(c *Config) any { return c.Board.Name }},
	{Path: "board.file", Apply: RestartIdle, get: func(c *Config) any { return c.Board.File }},
	{Path: "sip.listen", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.Listen }},
	{Path: "sip.transport", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.Transport }},
	{Path: "sip.user_agent", Apply: Reregister, get: func(c *Config) any { return c.SIP.UserAgent }},
	{Path: "sip.dns", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.DNS }},
	{Path: "sip.ca", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.CA }},
	{Path: "sip.client_cert", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.ClientCert }},
	{Path: "sip.client_key", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.ClientKey }},
	{Path: "sip.accept_from", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.AcceptFrom }},
	{Path: "sip.untrusted", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.Untrusted }},
	{Path: "sip.max_server_transactions", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.MaxServerTransactions }},
	{Path: "sip.rate_limit", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.RateLimit }},
	{Path: "sip.rate_burst", Apply: RestartIdle, get: func(c *Config) any { return c.SIP.RateBurst }},
	{Path: "account.user", Apply: Reregister, get: func(c *Config) any { return c.Account.User }},
	{Path: "account.display_name", Apply: Reregister, get: func(c *Config) any { return c.Account.DisplayName }},
	{Path: "account.password", Apply: Reregister, Secret: true, get: func(c *Config) any { return c.Account.Password }},
	{Path: "account.auth_user", Apply: Reregister, get: func(c *Config) any { return c.Account.AuthUser }},
	{Path: "account.realm", Apply: Reregister, get: func(c *Config) any { return c.Account.Realm }},
	{Path: "account.domain", Apply: Reregister, get: func(c *Config) any { return c.Account.Domain }},
	{Path: "account.registrar", Apply: Reregister, get: func(c *Config) any { return c.Account.Registrar }},
	{Path: "account.backup_registrars", Apply: Reregister, get: func(c *Config) any { return c.Account.BackupRegistrars }},
	{Path: "account.outbound_proxy", Apply: Reregister, get: func(c *Config) any { return c.Account.OutboundProxy }},
	{Path: "account.register_expires", Apply: Reregister, get: func(c *Config) any { return c.Account.RegisterExpires }},
	{Path: "account.keepalive", Apply: Reregister, get: func(c *Config) any { return c.Account.KeepAlive }},
	{Path: "audio.device", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.Device }},
	{Path: "audio.codecs", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.Codecs }},
	{Path: "audio.srtp", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.SRTP }},
	{Path: "audio.srtp_allow_plain_sip", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.SRTPAllowPlainSIP }},
	{Path: "audio.rtp_port_min", Apply: Hot, get: func(c *Config) any { return c.Audio.RTPPortMin }},
	{Path: "audio.rtp_port_max", Apply: Hot, get: func(c *Config) any { return c.Audio.RTPPortMax }},
	{Path: "audio.rtp_timeout", Apply: Hot, get: func(c *Config) any { return c.Audio.RTPTimeout }},
	{Path: "audio.dscp", Apply: Hot, get: func(c *Config) any { return c.Audio.DSCP }},
	{Path: "audio.symmetric_rtp", Apply: Hot, get: func(c *Config) any { return c.Audio.SymmetricRTP }},
	{Path: "audio.ptime", Apply: Hot, get: func(c *Config) any { return c.Audio.Ptime }},
	{Path: "audio.jitter_min", Apply: Hot, get: func(c *Config) any { return c.Audio.JitterMin }},
	{Path: "audio.jitter_max", Apply: Hot, get: func(c *Config) any { return c.Audio.JitterMax }},
	{Path: "audio.state_dir", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.StateDir }},
	{Path: "audio.latency", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.Latency }},
	{Path: "audio.ringer_volume", Apply: Hot, get: func(c *Config) any { return c.Audio.RingerVolume }},
	{Path: "audio.wav.input", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.WAV.Input }},
	{Path: "audio.wav.output", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.WAV.Output }},
	{Path: "audio.pulse.server", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.Pulse.Server }},
	{Path: "audio.pulse.sink", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.Pulse.Sink }},
	{Path: "audio.pulse.source", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.Pulse.Source }},
	{Path: "audio.pulse.cookie", Apply: RestartIdle, get: func(c *Config) any { return c.Audio.Pulse.Cookie }},
	{Path: "phone.interdigit_timeout", Apply: Hot, get: func(c *Config) any { return c.Phone.InterdigitTimeout }},
	{Path: "phone.short_interdigit_timeout", Apply: Hot, get: func(c *Config) any { return c.Phone.ShortInterdigitTimeout }},
	{Path: "phone.offhook_timeout", Apply: Hot, get: func(c *Config) any { return c.Phone.OffhookTimeout }},
	{Path: "phone.no_answer_timeout", Apply: Hot, get: func(c *Config) any { return c.Phone.NoAnswerTimeout }},
	{Path: "phone.dial_plan", Apply: Hot, get: func(c *Config) any { return c.Phone.DialPlan }},
	{Path: "phone.max_calls", Apply: Hot, get: func(c *Config) any { return c.Phone.MaxCalls }},
	{Path: "phone.call_waiting", Apply: Hot, get: func(c *Config) any { return c.Phone.CallWaiting }},
	{Path: "phone.echo_test", Apply: Hot, get: func(c *Config) any { return c.Phone.EchoTest }},
	{Path: "phone.tone_test", Apply: Hot, get: func(c *Config) any { return c.Phone.ToneTest }},
	{Path: "directory", Apply: Hot, get: func(c *Config) any { return c.Directory }},
	{Path: "api.listen", Apply: RestartIdle, get: func(c *Config) any { return c.API.Listen }},
	{Path: "api.password", Apply: RestartIdle, Secret: true, get: func(c *Config) any { return c.API.Password }},
	{Path: "api.cert", Apply: RestartIdle, get: func(c *Config) any { return c.API.Cert }},
	{Path: "api.key", Apply: RestartIdle, get: func(c *Config) any { return c.API.Key }},
	{Path: "system.state_dir", Apply: RestartIdle, get: func(c *Config) any { return c.System.StateDir }},
	{Path: "system.memory_limit_mb", Apply: RestartIdle, get: func(c *Config) any { return c.System.MemoryLimitMB }},
	{Path: "log.level", Apply: Hot, get: func(c *Config) any { return c.Log.Level }},
	{Path: "log.format", Apply: RestartIdle, get: func(c *Config) any { return c.Log.Format }},
	{Path: "log.sip_trace", Apply: Hot, get: func(c *Config) any { return c.Log.SIPTrace }},
	{Path: "tones.country", Apply: Hot, get: func(c *Config) any { return c.Tones.Country }},
	{Path: "tones.custom", Apply: Hot, get: func(c *Config) any { return c.Tones.Custom }},
	// The provisioning keys take effect at the next check.
	{Path: "provisioning.url", Apply: Hot, get: func(c *Config) any { return c.Provisioning.URL }},
	{Path: "provisioning.interval", Apply: Hot, get: func(c *Config) any { return c.Provisioning.Interval }},
	{Path: "provisioning.boot_delay_max", Apply: Hot, get: func(c *Config) any { return c.Provisioning.BootDelayMax }},
	{Path: "provisioning.ca", Apply: Hot, get: func(c *Config) any { return c.Provisioning.CA }},
	{Path: "provisioning.client_cert", Apply: Hot, get: func(c *Config) any { return c.Provisioning.ClientCert }},
	{Path: "provisioning.client_key", Apply: Hot, get: func(c *Config) any { return c.Provisioning.ClientKey }},
	{Path: "provisioning.user", Apply: Hot, get: func(c *Config) any { return c.Provisioning.User }},
	{Path: "provisioning.password", Apply: Hot, Secret: true, get: func(c *Config) any { return c.Provisioning.Password }},
	{Path: "provisioning.public_key", Apply: Hot, get: func(c *Config) any { return c.Provisioning.PublicKey }},
	{Path: "provisioning.mac", Apply: Hot, get: func(c *Config) any { return c.Provisioning.MAC }},
	{Path: "provisioning.rollback_after", Apply: Hot, get: func(c *Config) any { return c.Provisioning.RollbackAfter }},
	{Path: "provisioning.allow_override", Apply: Hot, get: func(c *Config) any { return c.Provisioning.AllowOverride }},
}

// Change is one key whose value differs between two configs.
type Change struct {
	Key   string `json:"key"`
	Apply Apply  `json:"apply"`
}

// Diff lists the keys whose values differ from old to new, in Keys order.
// Secrets compare by value but never show it.
func Diff(old, new *Config) []Change {
	var out []Change
	for _, k := range Keys {
		if !equalValue(k.get(old), k.get(new)) {
			out = append(out, Change{Key: k.Path, Apply: k.Apply})
		}
	}
	return out
}

// Needs is the most a list of changes takes: Hot for none.
func Needs(changes []Change) Apply {
	a := Hot
	for _, c := range changes {
		a = max(a, c.Apply)
	}
	return a
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []string:
		return slices.Equal(x, b.([]string))
	case map[string]string:
		return maps.Equal(x, b.(map[string]string))
	}
	return a == b
}

// Print writes c as a config file: every key with its value, defaults
// included, a set secret as a comment without its value. Parsing the
// output gives c back (but for the secrets).
func Print(c *Config) string {
	var b strings.Builder
	table := ""
	for _, k := range Keys {
		v := k.get(c)
		t, name := "", k.Path
		if i := strings.LastIndexByte(k.Path, '.'); i >= 0 {
			t, name = k.Path[:i], k.Path[i+1:]
		}
		if m, ok := v.(map[string]string); ok {
			// A map is a table of its own.
			fmt.Fprintf(&b, "\n[%s]\n", k.Path)
			table = k.Path
			for _, e := range slices.Sorted(maps.Keys(m)) {
				fmt.Fprintf(&b, "%s = %s\n", tomlKey(e), tomlString(m[e]))
			}
			continue
		}
		if t != table {
			fmt.Fprintf(&b, "\n[%s]\n", t)
			table = t
		}
		if k.Secret && fmt.Sprint(v) != "" {
			// Commented out: a copy of the output must not set the
			// password to a placeholder.
			fmt.Fprintf(&b, "# %s = (set, not shown)\n", name)
			continue
		}
		fmt.Fprintf(&b, "%s = %s\n", name, tomlValue(v))
	}
	return strings.TrimPrefix(b.String(), "\n")
}

func tomlValue(v any) string {
	switch x := v.(type) {
	case string:
		return tomlString(x)
	case Secret:
		return tomlString("") // a set secret is never printed
	case Duration:
		return tomlString(shortDuration(x.Duration))
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = tomlString(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprint(v) // int, bool
}

// shortDuration writes d as an admin would: "1h", "90s", "250ms".
func shortDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return d.String()
}

// tomlString quotes s as a TOML basic string (TOML 1.0 §String: \b \t \n
// \f \r \" \\ and \uXXXX for other control characters).
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlKey writes a key bare when it can be, else quoted.
func tomlKey(k string) string {
	if k != "" && strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == "" {
		return k
	}
	return tomlString(k)
}
