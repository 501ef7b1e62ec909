package config

import (
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/board"
	"github.com/deskphone/phoned/firmware/dialplan"
)

// SchemaVersion is the only value of the top-level "schema" key this
// firmware reads.
const SchemaVersion = 1

// Known values of the enumerated keys, in the order error messages list
// them. Adding a hardware board is adding its description to package board. Other
// packages may read these lists; they are not to be changed at run time.
var (
	// Boards lists the board names this firmware knows (board.name): the
	// board package's descriptions are the one source.
	Boards = board.Names()
	// Devices lists the sound devices (audio.device).
	Devices = []string{"pulse", "wav", "null", "auto"}
	// Codecs lists the codecs the media stack implements (audio.codecs).
	Codecs = []string{"PCMU", "PCMA"}
	// Transports lists the SIP transports (sip.transport).
	Transports = []string{"udp", "tcp", "tls"}
	// LogLevels and LogFormats list log.level and log.format values.
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
)

// Config is one validated config file. Values returned by Parse, Load and
// Default are valid; a Config changed in code must pass Validate before use.
type Config struct {
	Schema    int
	Board     Board
	SIP       SIP
	Account   Account
	Audio     Audio
	Phone     Phone
	Directory map[string]string // dialled string -> sip: URI; never nil
	API       API
	Log       Log
	Tones     Tones  // [tones], see sound.go
	System    System // [system], see api.go
	// Provisioning is [provisioning], see provisioning.go.
	Provisioning Provisioning

	// Parsed forms of string fields, stored by validation.
	sipListen netip.AddrPort
	apiListen netip.AddrPort
	dialPlan  *dialplan.Plan
	tonePlan  tone.Plan
}

// DialPlan is phone.dial_plan parsed; nil when there is none.
func (c *Config) DialPlan() *dialplan.Plan { return c.dialPlan }

// Board is [board].
type Board struct {
	Name string // one of Boards
	// File is a board file (see board/template.toml) used instead of the
	// built-in board Name; "" for none. Load makes it absolute against the
	// config file's directory; it is read when the phone starts.
	File string
}

// SIP is [sip].
type SIP struct {
	Listen    string   // UDP host:port, IP literal only; see Config.SIPListen
	Transport string   // "udp", "tcp" or "tls"; see Config.SIPTransport
	UserAgent string   // "" means "phoned/<version>"; see Config.UserAgent
	DNS       []string // name servers "IP[:port]"; empty: /etc/resolv.conf. See dns.go
	// CA, ClientCert and ClientKey are PEM files for "tls" (tls.go); Load
	// makes them absolute against the config file's directory.
	CA         string
	ClientCert string
	ClientKey  string
	// Who may send requests and what a flood may cost (guard.go).
	AcceptFrom            string // "any", "proxy"; "" means proxy with a registrar or proxy
	Untrusted             string // "reject" (403) or "drop"
	MaxServerTransactions int    // out-of-dialog server transactions at once
	RateLimit             int    // requests per second per source; 0: no limit
	RateBurst             int
}

// Account is [account]. Its String, Format and LogValue never show the
// password (Password is a Secret).
type Account struct {
	User        string // AOR user part
	DisplayName string
	Password    Secret
	AuthUser    string // "" means User; see Config.AuthUser
	Realm       string // the only digest realm answered; "" means the registrar's
	Domain      string // AOR host; "" means the host of sip.listen; see Config.Domain
	Registrar   string // "" means no registration; host[:port] or sip: URI
	// BackupRegistrars are tried in order when the registrar times out or
	// answers 5xx; the phone fails back to the registrar when it answers.
	BackupRegistrars []string
	OutboundProxy    string   // "" means none; host[:port] or sip: URI
	RegisterExpires  Duration // registration interval asked for
	KeepAlive        Duration // keep-alive OPTIONS to our AOR via the registrar (sip/alive.go)
}

// Audio is [audio] with its sub-tables.
type Audio struct {
	Device     string   // one of Devices
	Codecs     []string // preference order, from Codecs, no duplicates
	RTPPortMin int      // even, 1024..65534
	RTPPortMax int      // even, 1024..65534, > RTPPortMin
	RTPTimeout Duration // no RTP this long in a call (not on hold): hang up; 0 = never
	DSCP       int      // DiffServ code point of RTP packets, 0-63; 46 = EF
	// SymmetricRTP sends RTP to where the peer's RTP comes from (RFC 4961)
	SymmetricRTP bool
	// Ptime is the packet time asked of the peer (a=ptime): 10, 20, 30 or
	// 40 ms. We send what the peer asks for.
	Ptime Duration
	// JitterMin and JitterMax bound the adaptive jitter buffer's delay.
	JitterMin, JitterMax Duration
	WAV                  WAV
	Pulse                Pulse
	// Sound keys (sound.go).
	StateDir     string   // where volume.json is kept; "" keeps volumes in memory
	Latency      Duration // Pulse playback target latency, MinLatency..MaxLatency
	RingerVolume int      // 0..100 percent
	// SRTP keys (srtp.go): "off", "optional" or "required", and whether
	// SDES keys may travel over plain UDP/TCP signalling.
	SRTP              string
	SRTPAllowPlainSIP bool
}

// WAV is [audio.wav]. Load makes relative paths absolute against the
// config file's directory; Parse leaves them as written.
type WAV struct {
	Input  string // WAV file played as the microphone
	Output string // WAV file the speaker is recorded to
}

// Pulse is [audio.pulse]; "" means the PulseAudio default.
type Pulse struct {
	Server string
	Sink   string
	Source string
	Cookie string // auth cookie file; "" for the library default
}

// Phone is [phone]: the call state machine's timers. All are > 0.
type Phone struct {
	InterdigitTimeout      Duration // after the last digit, the number is sent (the long timer)
	ShortInterdigitTimeout Duration // after a complete number that could still grow
	OffhookTimeout         Duration // off-hook with no digit: warning tone
	NoAnswerTimeout        Duration // incoming call rings this long: rejected with 480
	DialPlan               string   // digit map; "" = none ('#' or the timeout sends)
	MaxCalls               int      // calls at once (1-8); an INVITE beyond them gets 486
	CallWaiting            bool     // a second call while busy: call-waiting tone; false: 486
	EchoTest               string   // service code of the echo test ("*43"); "" = off
	ToneTest               string   // service code of the tone test ("*44"); "" = off
}

// API is [api], the local control/status API.
type API struct {
	Listen string // TCP host:port, IP literal only; "" disables the API
	// Password guards every endpoint (HTTP Basic, user "admin", or
	// Bearer); required when Listen is not loopback (see api.go).
	Password Secret
	// Cert and Key are PEM files for HTTPS beyond loopback; both "" means
	// a self-signed certificate kept in System.StateDir. Load makes them
	// absolute against the config file's directory.
	Cert, Key string
}

// Log is [log].
type Log struct {
	Level  string // debug, info, warn, error
	Format string // text, json
	// SIPTrace logs every SIP message sent and received, credentials
	// masked (firmware/diag).
	SIPTrace bool
}

// Default returns the config that a file holding only "schema = 1" gives.
func Default() *Config {
	c := &Config{
		Schema: SchemaVersion,
		Board:  Board{Name: "sim"},
		SIP: SIP{Listen: "127.0.0.1:5060", Transport: "udp", Untrusted: "reject",
			MaxServerTransactions: DefaultMaxServerTx, RateLimit: DefaultRateLimit, RateBurst: DefaultRateBurst},
		Account: Account{
			User:             "phone",
			BackupRegistrars: []string{},
			RegisterExpires:  Duration{time.Hour},
			KeepAlive:        Duration{8 * time.Second}, // a registrar restart found within 10 s
		},
		Audio: Audio{
			Device:       "null",
			Codecs:       []string{"PCMU", "PCMA"},
			RTPPortMin:   16384,
			RTPPortMax:   32766,
			RTPTimeout:   Duration{30 * time.Second},
			DSCP:         46,
			SymmetricRTP: true,
			SRTP:         "off",
			Ptime:        Duration{20 * time.Millisecond},
			JitterMin:    Duration{40 * time.Millisecond},
			JitterMax:    Duration{200 * time.Millisecond},
			StateDir:     "/var/lib/phoned",
			Latency:      Duration{40 * time.Millisecond},
			RingerVolume: 80,
		},
		Tones: Tones{Country: "us", Custom: map[string]string{}},
		Phone: Phone{
			InterdigitTimeout:      Duration{5 * time.Second},
			ShortInterdigitTimeout: Duration{2 * time.Second},
			OffhookTimeout:         Duration{15 * time.Second},
			NoAnswerTimeout:        Duration{60 * time.Second},
			MaxCalls:               4,
			CallWaiting:            true,
			EchoTest:               "*43",
			ToneTest:               "*44",
		},
		Directory:    map[string]string{},
		API:          API{Listen: "127.0.0.1:8080"},
		System:       System{StateDir: DefaultStateDir, MemoryLimitMB: DefaultMemoryLimitMB},
		Log:          Log{Level: "info", Format: "text"},
		Provisioning: defaultProvisioning(),
	}
	if err := c.Validate(); err != nil {
		panic("config: Default is invalid: " + err.Error()) // a bug in this file, caught by tests
	}
	return c
}

// SIPListen is sip.listen parsed.
func (c *Config) SIPListen() netip.AddrPort {
	if c.sipListen.String() != c.SIP.Listen {
		if ap, err := netip.ParseAddrPort(c.SIP.Listen); err == nil {
			return ap // changed in code since validation
		}
	}
	return c.sipListen
}

// APIListen is api.listen parsed; ok is false when the API is disabled.
func (c *Config) APIListen() (ap netip.AddrPort, ok bool) {
	if c.API.Listen == "" {
		return netip.AddrPort{}, false
	}
	if c.apiListen.String() != c.API.Listen {
		if ap, err := netip.ParseAddrPort(c.API.Listen); err == nil {
			return ap, true
		}
	}
	return c.apiListen, true
}

// Domain is the AOR host: account.domain, or else the address of
// sip.listen in SIP host form (an IPv6 address in brackets, no zone).
func (c *Config) Domain() string {
	if c.Account.Domain != "" {
		return c.Account.Domain
	}
	return sipHost(c.SIPListen().Addr())
}

// AuthUser is the digest user name: account.auth_user, or else account.user.
func (c *Config) AuthUser() string {
	if c.Account.AuthUser != "" {
		return c.Account.AuthUser
	}
	return c.Account.User
}

// UserAgent is the User-Agent header value: sip.user_agent, or else
// "phoned/" + version.
func (c *Config) UserAgent(version string) string {
	if c.SIP.UserAgent != "" {
		return c.SIP.UserAgent
	}
	return "phoned/" + version
}

// RegistrarURI is account.registrar as a sip: URI ("" when there is no
// registrar): a bare host[:port] gets "sip:" in front.
func (c *Config) RegistrarURI() string { return asSIPURI(c.Account.Registrar) }

// OutboundProxyURI is account.outbound_proxy as a sip: URI, "" for none.
func (c *Config) OutboundProxyURI() string { return asSIPURI(c.Account.OutboundProxy) }

// LogLevel is log.level as a slog.Level (Info for an unknown value).
func (c *Config) LogLevel() slog.Level {
	switch c.Log.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LogValue logs the whole config with the password redacted.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("schema", c.Schema),
		slog.String("board", c.Board.Name),
		slog.Group("sip", "listen", c.SIP.Listen, "transport", c.SIP.Transport, "user_agent", c.SIP.UserAgent, "dns", c.SIP.DNS,
			"ca", c.SIP.CA, "client_cert", c.SIP.ClientCert, "client_key", c.SIP.ClientKey),
		slog.Any("account", c.Account),
		slog.Group("audio", "device", c.Audio.Device, "codecs", c.Audio.Codecs,
			"rtp_ports", strconv.Itoa(c.Audio.RTPPortMin)+"-"+strconv.Itoa(c.Audio.RTPPortMax),
			"wav_input", c.Audio.WAV.Input, "wav_output", c.Audio.WAV.Output,
			"pulse_server", c.Audio.Pulse.Server, "pulse_sink", c.Audio.Pulse.Sink, "pulse_source", c.Audio.Pulse.Source),
		slog.Group("phone", "interdigit_timeout", c.Phone.InterdigitTimeout.String(),
			"offhook_timeout", c.Phone.OffhookTimeout.String(), "no_answer_timeout", c.Phone.NoAnswerTimeout.String(),
			"max_calls", c.Phone.MaxCalls, "call_waiting", c.Phone.CallWaiting),
		slog.Int("directory_entries", len(c.Directory)),
		slog.Group("api", "listen", c.API.Listen, "password", c.API.Password, "cert", c.API.Cert, "key", c.API.Key),
		slog.Group("system", "state_dir", c.System.StateDir),
		slog.Group("log", "level", c.Log.Level, "format", c.Log.Format, "sip_trace", c.Log.SIPTrace),
	)
}

func sipHost(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "[" + a.WithZone("").String() + "]"
	}
	return a.Unmap().String()
}
