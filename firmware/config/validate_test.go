package config

import (
	"strings"
	"testing"
)

// Each bad case is a whole file; want is the complete error, one line per
// problem, so file, line and field are all checked.
func TestValidationRules(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // nil: the file is valid
	}{
		// schema
		{"schema missing", "[board]\nname = \"sim\"\n", []string{"phoned.toml:1: schema: required key missing: add the line `schema = 1` at the top of the file"}},
		{"schema empty file", "", []string{"phoned.toml:1: schema: required key missing: add the line `schema = 1` at the top of the file"}},
		{"schema 2", "# v2\nschema = 2\n", []string{"phoned.toml:2: schema: unsupported schema 2 (this firmware reads 1)"}},
		{"schema 2 hides the rest", "schema = 2\n[ui]\ntheme = 1\n[sip]\nlisten = 1\n", []string{"phoned.toml:1: schema: unsupported schema 2 (this firmware reads 1)"}},
		{"schema 0", "schema = 0\n", []string{"phoned.toml:1: schema: unsupported schema 0 (this firmware reads 1)"}},
		{"schema string", "schema = \"1\"\n", []string{"phoned.toml:1: schema: want an integer, got string"}},
		{"schema float", "schema = 1.0\n", []string{"phoned.toml:1: schema: want an integer, got float"}},
		{"schema hex", "schema = 0x1\n", nil},

		// TOML forms that mean the same thing
		{"sub-table before table", "schema = 1\n[audio.wav]\ninput = \"a\"\noutput = \"b\"\n[audio]\ndevice = \"wav\"\n", nil},
		{"dotted in table", "schema = 1\n[audio]\ndevice = \"wav\"\nwav.input = \"a\"\nwav.output = \"b\"\n", nil},
		{"dotted at top", "schema = 1\naudio.pulse.sink = \"x\"\naudio.device = \"pulse\"\n[sip]\nlisten = \"127.0.0.1:5070\"\n", nil},
		{"inline tables", "schema = 1\naudio = { device = \"wav\", wav = { input = \"a\", output = \"b\" } }\n", nil},
		{"literal and multi-line strings", "schema = 1\n[account]\ndisplay_name = '''Front [desk]'''\npassword = \"\"\"\nx]]]\"\"\"\"\nuser = '1001'\n", nil},

		// board
		{"board sim", "schema = 1\n[board]\nname = \"sim\"\n", nil},
		{"board unknown", "schema = 1\n[board]\nname = \"rpi\"\n", []string{`phoned.toml:3: board.name: unknown board "rpi" (want rpi4 or sim)`}},

		// sip.listen
		{"listen v6", "schema = 1\n[sip]\nlisten = \"[::1]:5060\"\n", nil},
		{"listen wildcard with domain", "schema = 1\n[sip]\nlisten = \"0.0.0.0:5060\"\n[account]\ndomain = \"phone1.example.com\"\n", nil},
		{"listen host name", "schema = 1\n[sip]\nlisten = \"localhost:5060\"\n", []string{`phoned.toml:3: sip.listen: invalid address "localhost:5060" (want IPv4:port or [IPv6]:port, e.g. 127.0.0.1:5060)`}},
		{"listen no port", "schema = 1\n[sip]\nlisten = \"127.0.0.1\"\n", []string{`phoned.toml:3: sip.listen: invalid address "127.0.0.1" (want IPv4:port or [IPv6]:port, e.g. 127.0.0.1:5060)`}},
		{"listen port 0", "schema = 1\n[sip]\nlisten = \"127.0.0.1:0\"\n", []string{`phoned.toml:3: sip.listen: port 0 out of range (want 1..65535)`}},
		{"listen port big", "schema = 1\n[sip]\nlisten = \"127.0.0.1:65536\"\n", []string{`phoned.toml:3: sip.listen: invalid address "127.0.0.1:65536" (want IPv4:port or [IPv6]:port, e.g. 127.0.0.1:5060)`}},
		{"listen v6 unbracketed", "schema = 1\n[sip]\nlisten = \"::1:5060\"\n", []string{`phoned.toml:3: sip.listen: invalid address "::1:5060" (want IPv4:port or [IPv6]:port, e.g. 127.0.0.1:5060)`}},
		{"listen wildcard needs domain", "schema = 1\n[sip]\nlisten = \"0.0.0.0:5060\"\n", []string{`phoned.toml:1: account.domain: required when sip.listen is a wildcard address (0.0.0.0)`}},
		{"listen wildcard needs domain, account header", "schema = 1\n[sip]\nlisten = \"[::]:5060\"\n[account]\nuser = \"a\"\n", []string{`phoned.toml:4: account.domain: required when sip.listen is a wildcard address (::)`}},

		// sip.transport, sip.user_agent
		{"transport tcp", "schema = 1\n[sip]\ntransport = \"tcp\"\n", nil},
		{"transport sctp", "schema = 1\n[sip]\ntransport = \"sctp\"\n", []string{`phoned.toml:3: sip.transport: unknown transport "sctp" (want udp, tcp or tls)`}},
		{"transport upper", "schema = 1\n[sip]\ntransport = \"UDP\"\n", []string{`phoned.toml:3: sip.transport: unknown transport "UDP" (want udp, tcp or tls)`}},
		{"user_agent", "schema = 1\n[sip]\nuser_agent = \"Acme Desk 3 (phoned)\"\n", nil},
		{"user_agent CRLF", "schema = 1\n[sip]\nuser_agent = \"x\\r\\nVia: evil\"\n", []string{`phoned.toml:3: sip.user_agent: contains a control character`}},
		{"user_agent long", "schema = 1\n[sip]\nuser_agent = \"" + strings.Repeat("a", 257) + "\"\n", []string{`phoned.toml:3: sip.user_agent: longer than 256 bytes`}},

		// sip guard (guard.go)
		{"accept_from proxy", "schema = 1\n[sip]\naccept_from = \"proxy\"\nuntrusted = \"drop\"\nrate_limit = 0\n", nil},
		{"accept_from bad", "schema = 1\n[sip]\naccept_from = \"registrar\"\n", []string{`phoned.toml:3: sip.accept_from: unknown source policy "registrar" (want any or proxy)`}},
		{"untrusted bad", "schema = 1\n[sip]\nuntrusted = \"ignore\"\n", []string{`phoned.toml:3: sip.untrusted: unknown answer to untrusted sources "ignore" (want reject or drop)`}},
		{"max_server_transactions 0", "schema = 1\n[sip]\nmax_server_transactions = 0\n", []string{`phoned.toml:3: sip.max_server_transactions: 0 out of range (want 1 to 10000)`}},
		{"rate_limit negative", "schema = 1\n[sip]\nrate_limit = -1\n", []string{`phoned.toml:3: sip.rate_limit: -1 out of range (want 0 to 100000)`}},
		{"rate_burst 0", "schema = 1\n[sip]\nrate_burst = 0\n", []string{`phoned.toml:3: sip.rate_burst: 0 out of range (want 1 to 100000)`}},
		{"memory_limit_mb off", "schema = 1\n[system]\nmemory_limit_mb = 0\n", nil},
		{"memory_limit_mb small", "schema = 1\n[system]\nmemory_limit_mb = 8\n", []string{`phoned.toml:3: system.memory_limit_mb: 8 out of range (want 16 to 1048576)`}},

		// account
		{"user ok", "schema = 1\n[account]\nuser = \"alice.smith+1\"\n", nil},
		{"user escaped", "schema = 1\n[account]\nuser = \"a%41b\"\n", nil},
		{"user empty", "schema = 1\n[account]\nuser = \"\"\n", []string{`phoned.toml:3: account.user: must not be empty`}},
		{"user space", "schema = 1\n[account]\nuser = \"a b\"\n", []string{`phoned.toml:3: account.user: invalid SIP user "a b" (allowed: letters, digits, -_.!~*'()&=+$,;?/ and %XX escapes)`}},
		{"user at", "schema = 1\n[account]\nuser = \"a@b\"\n", []string{`phoned.toml:3: account.user: invalid SIP user "a@b" (allowed: letters, digits, -_.!~*'()&=+$,;?/ and %XX escapes)`}},
		{"user bad escape", "schema = 1\n[account]\nuser = \"a%4\"\n", []string{`phoned.toml:3: account.user: invalid SIP user "a%4" (allowed: letters, digits, -_.!~*'()&=+$,;?/ and %XX escapes)`}},
		{"display_name", "schema = 1\n[account]\ndisplay_name = \"Zoë Reception\"\n", nil},
		{"display_name newline", "schema = 1\n[account]\ndisplay_name = \"a\\nb\"\n", []string{`phoned.toml:3: account.display_name: contains a control character`}},
		{"auth_user tab", "schema = 1\n[account]\nauth_user = \"a\\tb\"\n", []string{`phoned.toml:3: account.auth_user: contains a control character`}},
		{"domain name", "schema = 1\n[account]\ndomain = \"voip.example.com\"\n", nil},
		{"domain v4", "schema = 1\n[account]\ndomain = \"192.0.2.1\"\n", nil},
		{"domain v6", "schema = 1\n[account]\ndomain = \"[2001:db8::1]\"\n", nil},
		{"domain underscore", "schema = 1\n[account]\ndomain = \"exa_mple.com\"\n", []string{`phoned.toml:3: account.domain: invalid domain "exa_mple.com": invalid host name`}},
		{"domain with port", "schema = 1\n[account]\ndomain = \"example.com:5060\"\n", []string{`phoned.toml:3: account.domain: invalid domain "example.com:5060": IPv6 address needs brackets`}},
		{"domain bad v4", "schema = 1\n[account]\ndomain = \"192.0.2.300\"\n", []string{`phoned.toml:3: account.domain: invalid domain "192.0.2.300": invalid IPv4 address`}},
		{"domain numeric top label", "schema = 1\n[account]\ndomain = \"example.123\"\n", []string{`phoned.toml:3: account.domain: invalid domain "example.123": invalid host name (the last label must start with a letter)`}},

		// registrar and outbound_proxy
		{"registrar host", "schema = 1\n[account]\nregistrar = \"pbx.example.com\"\n", nil},
		{"registrar host port", "schema = 1\n[account]\nregistrar = \"192.0.2.10:5070\"\n", nil},
		{"registrar v6", "schema = 1\n[account]\nregistrar = \"[2001:db8::10]:5060\"\n", nil},
		{"registrar uri", "schema = 1\n[account]\nregistrar = \"sip:pbx.example.com;transport=udp\"\n", nil},
		{"registrar SIP uri", "schema = 1\n[account]\nregistrar = \"SIP:pbx.example.com:5060\"\n", nil},
		{"registrar tel", "schema = 1\n[account]\nregistrar = \"tel:+15551234\"\n", []string{`phoned.toml:3: account.registrar: invalid server "tel:+15551234": unsupported scheme "tel" (want host[:port] or a sip: URI)`}},
		{"registrar sips", "schema = 1\n[account]\nregistrar = \"sips:pbx example.com\"\n", []string{`phoned.toml:3: account.registrar: invalid server "sips:pbx example.com": contains a space, quote, angle bracket or control character`}},
		{"registrar tel digits", "schema = 1\n[account]\nregistrar = \"tel:123\"\n", []string{`phoned.toml:3: account.registrar: invalid server "tel:123": unsupported scheme "tel" (want host[:port] or a sip: URI)`}},
		{"registrar port 0", "schema = 1\n[account]\nregistrar = \"pbx.example.com:0\"\n", []string{`phoned.toml:3: account.registrar: invalid server "pbx.example.com:0": port "0" out of range (want 1..65535)`}},
		{"registrar empty port", "schema = 1\n[account]\nregistrar = \"pbx:\"\n", []string{`phoned.toml:3: account.registrar: invalid server "pbx:": empty port`}},
		{"registrar no host", "schema = 1\n[account]\nregistrar = \"sip:\"\n", []string{`phoned.toml:3: account.registrar: invalid server "sip:": no host`}},
		{"registrar space", "schema = 1\n[account]\nregistrar = \"sip:pbx example\"\n", []string{`phoned.toml:3: account.registrar: invalid server "sip:pbx example": contains a space, quote, angle bracket or control character`}},
		{"registrar uri password not echoed", "schema = 1\n[account]\nregistrar = \"sip:alice:s3cr3t@pbx.example.com\"\n", []string{`phoned.toml:3: account.registrar: invalid server: a password in the URI is not allowed (use account.password)`}},
		{"proxy", "schema = 1\n[account]\noutbound_proxy = \"sip:192.0.2.1:5060;lr\"\n", nil},
		{"backup registrars", "schema = 1\n[account]\nregistrar = \"pbx.example.com\"\nbackup_registrars = [\"sip:pbx2.example.com:5070\", \"192.0.2.3\"]\n", nil},
		{"backup without registrar", "schema = 1\n[account]\nbackup_registrars = [\"pbx2.example.com\"]\n", []string{`phoned.toml:3: account.backup_registrars: backup registrars need account.registrar`}},
		{"backup empty entry", "schema = 1\n[account]\nregistrar = \"a.example.com\"\nbackup_registrars = [\"b.example.com\", \"\"]\n", []string{`phoned.toml:4: account.backup_registrars[1]: empty registrar`}},
		{"backup not strings", "schema = 1\n[account]\nregistrar = \"a.example.com\"\nbackup_registrars = \"b.example.com\"\n", []string{`phoned.toml:4: account.backup_registrars: want an array of strings, got string`}},
		{"register_expires short", "schema = 1\n[account]\nregister_expires = \"30s\"\n", []string{`phoned.toml:3: account.register_expires: 30s out of range (want 60s..24h)`}},
		{"keepalive off", "schema = 1\n[account]\nkeepalive = \"0s\"\n", nil},
		{"rtp timeout off", "schema = 1\n[audio]\nrtp_timeout = \"0s\"\n", nil},
		{"echo_test off", "schema = 1\n[phone]\necho_test = \"\"\ntone_test = \"\"\n", nil},
		{"echo_test code", "schema = 1\n[phone]\necho_test = \"#99\"\n", nil},
		{"echo_test letters", "schema = 1\n[phone]\necho_test = \"*4a\"\n", []string{`phoned.toml:3: phone.echo_test: "*4a": 'a' is not a key of the dial pad (0-9, *, #); "" turns the service off`}},
		{"tone_test long", "schema = 1\n[phone]\ntone_test = \"*12345678901234567\"\n", []string{`phoned.toml:3: phone.tone_test: "*12345678901234567" is longer than 16 keys`}},
		{"tone_test same", "schema = 1\n[phone]\necho_test = \"*9\"\ntone_test = \"*9\"\n", []string{`phoned.toml:4: phone.tone_test: "*9" is also phone.echo_test`}},
		{"max_calls 0", "schema = 1\n[phone]\nmax_calls = 0\n", []string{`phoned.toml:3: phone.max_calls: 0 out of range (want 1-8)`}},
		{"max_calls 9", "schema = 1\n[phone]\nmax_calls = 9\n", []string{`phoned.toml:3: phone.max_calls: 9 out of range (want 1-8)`}},
		{"call_waiting type", "schema = 1\n[phone]\ncall_waiting = \"no\"\n", []string{`phoned.toml:3: phone.call_waiting: want a boolean, got string`}},
		{"dscp 64", "schema = 1\n[audio]\ndscp = 64\n", []string{`phoned.toml:3: audio.dscp: 64 out of range (want 0-63; 46 is EF, voice)`}},
		{"symmetric rtp not a boolean", "schema = 1\n[audio]\nsymmetric_rtp = \"yes\"\n", []string{`phoned.toml:3: audio.symmetric_rtp: want a boolean, got string`}},
		{"ptime 30", "schema = 1\n[audio]\nptime = \"30ms\"\n", nil},
		{"ptime odd", "schema = 1\n[audio]\nptime = \"25ms\"\n", []string{`phoned.toml:3: audio.ptime: 25ms is not a packet time phoned sends (want 10ms, 20ms, 30ms or 40ms)`}},
		{"jitter 20-300", "schema = 1\n[audio]\njitter_min = \"20ms\"\njitter_max = \"300ms\"\n", nil},
		{"jitter min too small", "schema = 1\n[audio]\njitter_min = \"5ms\"\n", []string{`phoned.toml:3: audio.jitter_min: 5ms out of range (want 10ms to 500ms)`}},
		{"jitter max below min", "schema = 1\n[audio]\njitter_min = \"100ms\"\njitter_max = \"60ms\"\n", []string{`phoned.toml:4: audio.jitter_max: 60ms out of range (want audio.jitter_min, 100ms, to 500ms)`}},
		{"jitter max too big", "schema = 1\n[audio]\njitter_max = \"2s\"\n", []string{`phoned.toml:3: audio.jitter_max: 2s out of range (want audio.jitter_min, 40ms, to 500ms)`}},
		{"rtp timeout too short", "schema = 1\n[audio]\nrtp_timeout = \"500ms\"\n", []string{`phoned.toml:3: audio.rtp_timeout: 500ms out of range (want 0s to turn it off, or at least 1s)`}},
		{"dial plan", "schema = 1\n[phone]\ndial_plan = \"[2-9]xxx|0T|*xx|911\"\n", nil},
		{"dial plan unclosed set", "schema = 1\n[phone]\ndial_plan = \"1xx|[2-9xxx\"\n", []string{`phoned.toml:3: phone.dial_plan: column 5: unclosed "["`}},
		{"keepalive too fast", "schema = 1\n[account]\nkeepalive = \"1s\"\n", []string{`phoned.toml:3: account.keepalive: 1s out of range (want 0s to turn it off, or at least 5s)`}},
		{"proxy bare v6", "schema = 1\n[account]\noutbound_proxy = \"2001:db8::1\"\n", []string{`phoned.toml:3: account.outbound_proxy: invalid server "2001:db8::1": IPv6 address needs brackets`}},

		// audio.device
		{"device pulse", "schema = 1\n[audio]\ndevice = \"pulse\"\n", nil},
		{"device alsa", "schema = 1\n[audio]\ndevice = \"alsa\"\n", []string{`phoned.toml:3: audio.device: unknown device "alsa" (want pulse, wav, null or auto)`}},

		// audio.codecs
		{"codecs one", "schema = 1\n[audio]\ncodecs = [\"PCMA\"]\n", nil},
		{"codecs multi-line", "schema = 1\n[audio]\ncodecs = [\n  \"PCMA\",\n  \"PCMU\",\n]\n", nil},
		{"codecs empty", "schema = 1\n[audio]\ncodecs = []\n", []string{`phoned.toml:3: audio.codecs: must list at least one codec (want PCMU or PCMA)`}},
		{"codecs unknown", "schema = 1\n[audio]\ncodecs = [\"PCMU\", \"G729\"]\n", []string{`phoned.toml:3: audio.codecs[1]: unknown codec "G729" (want PCMU or PCMA)`}},
		{"codecs lower case", "schema = 1\n[audio]\ncodecs = [\"pcmu\"]\n", []string{`phoned.toml:3: audio.codecs[0]: unknown codec "pcmu" (want PCMU or PCMA)`}},
		{"codecs duplicate", "schema = 1\n[audio]\ncodecs = [\"PCMU\", \"PCMA\", \"PCMU\"]\n", []string{`phoned.toml:3: audio.codecs[2]: duplicate codec "PCMU" (already at [0])`}},
		{"codecs element line", "schema = 1\n[audio]\ncodecs = [\n  \"PCMU\",\n  \"G722\",\n]\n", []string{`phoned.toml:5: audio.codecs[1]: unknown codec "G722" (want PCMU or PCMA)`}},
		{"codecs string", "schema = 1\n[audio]\ncodecs = \"PCMU\"\n", []string{`phoned.toml:3: audio.codecs: want an array of strings, got string`}},
		{"codecs element type", "schema = 1\n[audio]\ncodecs = [\"PCMU\", 8, \"G729\"]\n", []string{`phoned.toml:3: audio.codecs[1]: want a string, got integer`, `phoned.toml:3: audio.codecs[2]: unknown codec "G729" (want PCMU or PCMA)`}},

		// audio.rtp_port_*
		{"rtp range", "schema = 1\n[audio]\nrtp_port_min = 20000\nrtp_port_max = 20002\n", nil},
		{"rtp range edges", "schema = 1\n[audio]\nrtp_port_min = 1024\nrtp_port_max = 65534\n", nil},
		{"rtp min odd", "schema = 1\n[audio]\nrtp_port_min = 16385\n", []string{`phoned.toml:3: audio.rtp_port_min: 16385 is odd (RTP uses even ports, RTCP the odd one above)`}},
		{"rtp min low", "schema = 1\n[audio]\nrtp_port_min = 1022\n", []string{`phoned.toml:3: audio.rtp_port_min: 1022 out of range (want an even port in 1024..65534)`}},
		{"rtp max high", "schema = 1\n[audio]\nrtp_port_max = 65536\n", []string{`phoned.toml:3: audio.rtp_port_max: 65536 out of range (want an even port in 1024..65534)`}},
		{"rtp negative", "schema = 1\n[audio]\nrtp_port_max = -2\n", []string{`phoned.toml:3: audio.rtp_port_max: -2 out of range (want an even port in 1024..65534)`}},
		{"rtp huge", "schema = 1\n[audio]\nrtp_port_max = 4294967296\n", []string{`phoned.toml:3: audio.rtp_port_max: integer 4294967296 out of range`}},
		{"rtp min == max", "schema = 1\n[audio]\nrtp_port_min = 20000\nrtp_port_max = 20000\n", []string{`phoned.toml:4: audio.rtp_port_max: must be greater than audio.rtp_port_min (20000), got 20000`}},
		{"rtp min > max, max absent", "schema = 1\n[audio]\nrtp_port_min = 40000\n", []string{`phoned.toml:2: audio.rtp_port_max: must be greater than audio.rtp_port_min (40000), got 32766`}},
		{"rtp string", "schema = 1\n[audio]\nrtp_port_min = \"16384\"\nrtp_port_max = 80\n", []string{`phoned.toml:3: audio.rtp_port_min: want an integer, got string`, `phoned.toml:4: audio.rtp_port_max: 80 out of range (want an even port in 1024..65534)`}},

		// audio.wav
		{"wav ok", "schema = 1\n[audio]\ndevice = \"wav\"\n[audio.wav]\ninput = \"mic.wav\"\noutput = \"/tmp/speaker.wav\"\n", nil},
		{"wav keys without wav device", "schema = 1\n[audio.wav]\ninput = \"mic.wav\"\n", nil},
		{"wav table missing", "schema = 1\n[audio]\ndevice = \"wav\"\n", []string{
			`phoned.toml:2: audio.wav.input: required when audio.device is "wav"`,
			`phoned.toml:2: audio.wav.output: required when audio.device is "wav"`}},
		{"wav output missing", "schema = 1\n[audio]\ndevice = \"wav\"\n\n[audio.wav]\ninput = \"mic.wav\"\n", []string{`phoned.toml:5: audio.wav.output: required when audio.device is "wav"`}},
		{"wav input empty", "schema = 1\n[audio]\ndevice = \"wav\"\n[audio.wav]\ninput = \"\"\noutput = \"o.wav\"\n", []string{`phoned.toml:5: audio.wav.input: required when audio.device is "wav"`}},
		{"wav no file anywhere", "schema = 1\naudio.device = \"wav\"\n", []string{
			`phoned.toml:2: audio.wav.input: required when audio.device is "wav"`,
			`phoned.toml:2: audio.wav.output: required when audio.device is "wav"`}},

		// audio.pulse
		{"pulse ok", "schema = 1\n[audio.pulse]\nserver = \"unix:/run/pulse/native\"\nsink = \"alsa_output.0\"\nsource = \"alsa_input.0\"\n", nil},
		{"pulse control", "schema = 1\n[audio.pulse]\nsink = \"a\\u0000b\"\n", []string{`phoned.toml:3: audio.pulse.sink: contains a control character`}},

		// phone timers
		{"timers", "schema = 1\n[phone]\ninterdigit_timeout = \"250ms\"\noffhook_timeout = \"1m\"\nno_answer_timeout = \"1m30s\"\n", nil},
		{"timer zero", "schema = 1\n[phone]\ninterdigit_timeout = \"0s\"\n", []string{`phoned.toml:3: phone.interdigit_timeout: must be greater than 0, got "0s"`}},
		{"timer negative", "schema = 1\n[phone]\noffhook_timeout = \"-1s\"\n", []string{`phoned.toml:3: phone.offhook_timeout: must be greater than 0, got "-1s"`}},
		{"timer no unit", "schema = 1\n[phone]\nno_answer_timeout = \"60\"\n", []string{`phoned.toml:3: phone.no_answer_timeout: invalid duration "60" (want e.g. "5s" or "250ms")`}},
		{"timer integer", "schema = 1\n[phone]\nno_answer_timeout = 60\n", []string{`phoned.toml:3: phone.no_answer_timeout: want a duration string with a unit, e.g. "60s" or "60ms", got the number 60`}},

		// directory
		{"directory", "schema = 1\n[directory]\n\"1002\" = \"sip:1002@127.0.0.1:5062\"\n\"*9#\" = \"sip:voicemail@pbx.example.com;transport=udp\"\n0 = \"sip:reception@[2001:db8::5]:5060\"\n", nil},
		{"directory inline", "schema = 1\ndirectory = { 1002 = \"sip:1002@127.0.0.1:5062\" }\n", nil},
		{"directory bad key", "schema = 1\n[directory]\nalice = \"sip:alice@example.com\"\n", []string{`phoned.toml:3: directory.alice: not a dialable string (want 1 to 32 of 0-9, * and #)`}},
		{"directory quoted key", "schema = 1\n[directory]\n\"*1 2\" = \"sip:x@example.com\"\n", []string{`phoned.toml:3: directory."*1 2": not a dialable string (want 1 to 32 of 0-9, * and #)`}},
		{"directory empty key", "schema = 1\n[directory]\n\"\" = \"sip:x@example.com\"\n", []string{`phoned.toml:3: directory."": not a dialable string (want 1 to 32 of 0-9, * and #)`}},
		{"directory long key", "schema = 1\n[directory]\n" + strings.Repeat("1", 33) + " = \"sip:x@example.com\"\n", []string{`phoned.toml:3: directory.` + strings.Repeat("1", 33) + `: not a dialable string (want 1 to 32 of 0-9, * and #)`}},
		{"directory http", "schema = 1\n[directory]\n\"*1\" = \"http://example.com\"\n", []string{`phoned.toml:3: directory."*1": invalid SIP URI "http://example.com": want a sip: URI`}},
		{"directory no host", "schema = 1\n[directory]\n1 = \"sip:1002@\"\n", []string{`phoned.toml:3: directory.1: invalid SIP URI "sip:1002@": no host`}},
		{"directory bad user", "schema = 1\n[directory]\n1 = \"sip:a<b@host\"\n", []string{`phoned.toml:3: directory.1: invalid SIP URI "sip:a<b@host": contains a space, quote, angle bracket or control character`}},
		{"directory bad port", "schema = 1\n[directory]\n1 = \"sip:1@127.0.0.1:99999\"\n", []string{`phoned.toml:3: directory.1: invalid SIP URI "sip:1@127.0.0.1:99999": port "99999" out of range (want 1..65535)`}},
		{"directory integer", "schema = 1\n[directory]\n1002 = 1002\n", []string{`phoned.toml:3: directory.1002: want a string, got integer`}},
		{"directory table value", "schema = 1\n[directory.1002]\nuri = \"sip:1002@h\"\n", []string{`phoned.toml:2: directory.1002: want a string, got table`}},
		{"directory array", "schema = 1\n[directory]\n1002 = [\"sip:1002@h\"]\n", []string{`phoned.toml:3: directory.1002: want a string, got array`}},

		// api
		{"api off", "schema = 1\n[api]\nlisten = \"\"\n", nil},
		{"api v6", "schema = 1\n[api]\nlisten = \"[::1]:8080\"\n", nil},
		{"api host name", "schema = 1\n[api]\nlisten = \"localhost:8080\"\n", []string{`phoned.toml:3: api.listen: invalid address "localhost:8080" (want IPv4:port or [IPv6]:port, e.g. 127.0.0.1:5060)`}},
		{"api port 0", "schema = 1\n[api]\nlisten = \"127.0.0.1:0\"\n", []string{`phoned.toml:3: api.listen: port 0 out of range (want 1..65535)`}},
		{"api integer", "schema = 1\n[api]\nlisten = 8080\n", []string{`phoned.toml:3: api.listen: want a string, got integer`}},

		// log
		{"log json debug", "schema = 1\n[log]\nlevel = \"debug\"\nformat = \"json\"\n", nil},
		{"log level", "schema = 1\n[log]\nlevel = \"trace\"\n", []string{`phoned.toml:3: log.level: unknown level "trace" (want debug, info, warn or error)`}},
		{"log format", "schema = 1\n[log]\nformat = \"xml\"\n", []string{`phoned.toml:3: log.format: unknown format "xml" (want text or json)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				mustParse(t, tt.src)
				return
			}
			checkLines(t, parseErr(t, tt.src), tt.want)
		})
	}
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("error:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"top-level key", "schema = 1\nversion = 2\n", []string{"phoned.toml:2: version: unknown key"}},
		{"top-level table", "schema = 1\n[ui]\ntheme = \"dark\"\n", []string{"phoned.toml:2: ui: unknown key"}},
		{"board", "schema = 1\n[board]\nmodel = \"x\"\n", []string{"phoned.toml:3: board.model: unknown key"}},
		{"sip typo", "schema = 1\n[sip]\nlistne = \"127.0.0.1:5060\"\n", []string{"phoned.toml:3: sip.listne: unknown key (did you mean \"listen\"?)"}},
		{"account", "schema = 1\n[account]\npasswd = \"x\"\n", []string{"phoned.toml:3: account.passwd: unknown key (did you mean \"password\"?)"}},
		{"audio", "schema = 1\n[audio]\nvolume = 3\n", []string{"phoned.toml:3: audio.volume: unknown key"}},
		{"audio.wav", "schema = 1\n[audio.wav]\nloop = true\n", []string{"phoned.toml:3: audio.wav.loop: unknown key"}},
		{"audio.pulse", "schema = 1\n[audio.pulse]\nlatency = \"20ms\"\n", []string{"phoned.toml:3: audio.pulse.latency: unknown key"}},
		{"audio sub-table", "schema = 1\n[audio.alsa]\ndevice = \"hw:0\"\n", []string{"phoned.toml:2: audio.alsa: unknown key"}},
		{"phone", "schema = 1\n[phone]\nring_timeout = \"5s\"\n", []string{"phoned.toml:3: phone.ring_timeout: unknown key"}},
		{"api", "schema = 1\n[api]\ntoken = \"x\"\n", []string{"phoned.toml:3: api.token: unknown key"}},
		{"log", "schema = 1\n[log]\nfile = \"/var/log/x\"\n", []string{"phoned.toml:3: log.file: unknown key"}},
		{"dotted", "schema = 1\nsip.extra.deep = 1\n", []string{"phoned.toml:2: sip.extra: unknown key"}},
		{"inline nested", "schema = 1\n[audio]\ndevice = \"null\"\nwav = { input = \"a\", foo = 1 }\n", []string{"phoned.toml:4: audio.wav.foo: unknown key"}},
		{"quoted", "schema = 1\n[sip]\n\"listen \" = \"127.0.0.1:5060\"\n", []string{`phoned.toml:3: sip."listen ": unknown key (did you mean "listen"?)`}},
		{"case", "schema = 1\n[SIP]\nlisten = \"127.0.0.1:5060\"\n", []string{"phoned.toml:2: SIP: unknown key (did you mean \"sip\"?)"}},
		{"several", "schema = 1\nfoo = 1\n[sip]\nbar = 2\n[log]\nbaz = 3\n", []string{
			"phoned.toml:2: foo: unknown key", "phoned.toml:4: sip.bar: unknown key", "phoned.toml:6: log.baz: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkLines(t, parseErr(t, tt.src), tt.want) })
	}
}

func TestWrongTypes(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"section string", "schema = 1\nsip = \"udp\"\n", []string{"phoned.toml:2: sip: want a table, got string"}},
		{"section array of tables", "schema = 1\n[[sip]]\nlisten = \"127.0.0.1:5060\"\n", []string{"phoned.toml:2: sip: want a table, got array"}},
		{"sub-table integer", "schema = 1\n[audio]\nwav = 1\n", []string{"phoned.toml:3: audio.wav: want a table, got integer"}},
		{"directory not table", "schema = 1\ndirectory = [\"1\"]\n", []string{"phoned.toml:2: directory: want a table, got array"}},
		{"bool", "schema = 1\n[board]\nname = true\n", []string{"phoned.toml:3: board.name: want a string, got boolean"}},
		{"float", "schema = 1\n[audio]\nrtp_port_min = 16384.0\n", []string{"phoned.toml:3: audio.rtp_port_min: want an integer, got float"}},
		{"datetime", "schema = 1\n[phone]\ninterdigit_timeout = 1979-05-27T07:32:00Z\n", []string{"phoned.toml:3: phone.interdigit_timeout: want a string, got offset date-time"}},
		{"local time", "schema = 1\n[phone]\ninterdigit_timeout = 00:00:05\n", []string{"phoned.toml:3: phone.interdigit_timeout: want a string, got local time"}},
		{"local date", "schema = 1\n[log]\nlevel = 2024-01-01\n", []string{"phoned.toml:3: log.level: want a string, got local date"}},
		{"local datetime", "schema = 1\n[log]\nlevel = 2024-01-01T10:00:00\n", []string{"phoned.toml:3: log.level: want a string, got local date-time"}},
		{"inline table", "schema = 1\n[sip]\nlisten = { host = \"127.0.0.1\", port = 5060 }\n", []string{"phoned.toml:3: sip.listen: want a string, got table"}},
		{"password integer", "schema = 1\n[account]\npassword = 1234\n", []string{"phoned.toml:3: account.password: want a string, got integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkLines(t, parseErr(t, tt.src), tt.want) })
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"trailing garbage", "schema = 1\n[sip]\nlisten = \"127.0.0.1:5060\" x\n", []string{"phoned.toml:3:27: syntax error: expected the end of the line, found 'x'"}},
		{"unterminated string", "schema = 1\n[log]\nlevel = \"info\n", []string{"phoned.toml:3:14: syntax error: a string on one line cannot hold a newline (use \"\"\" for several lines)"}},
		{"missing value", "schema = 1\n[log]\nlevel =\n", []string{"phoned.toml:3:8: syntax error: a value is missing after ="}},
		{"bad header", "schema = 1\n[log\nlevel = \"info\"\n", []string{"phoned.toml:2:5: syntax error: expected ] to end the table header, found the end of the line"}},
		{"integer overflow", "schema = 99999999999999999999\n", []string{"phoned.toml:1:10: syntax error: 99999999999999999999 is out of range for an integer"}},
		{"invalid utf8", "schema = 1\n[log]\nlevel = \"\xff\"\n", []string{"phoned.toml:3:10: syntax error: invalid UTF-8"}},
		{"duplicate key", "schema = 1\n[sip]\nlisten = \"127.0.0.1:5060\"\nlisten = \"127.0.0.1:5061\"\n", []string{"phoned.toml:4: sip.listen: set twice (first on line 3)"}},
		{"duplicate table", "schema = 1\n[sip]\n[log]\n[sip]\n", []string{"phoned.toml:4: sip: table defined twice (first on line 2)"}},
		{"duplicate dotted", "schema = 1\nlog.level = \"info\"\n[log]\nlevel = \"debug\"\n", []string{"phoned.toml:3: log: table defined twice (first on line 2)", "phoned.toml:4: log.level: set twice (first on line 2)"}},
		{"value then table", "schema = 1\naudio = { device = \"null\" }\n[audio.wav]\n", []string{"phoned.toml:3: audio: already set to a value on line 2, cannot hold keys"}},
		{"duplicates everywhere", "schema = 1\nschema = 1\n[log]\nlevel = \"info\"\nlevel = \"info\"\n", []string{
			"phoned.toml:2: schema: set twice (first on line 1)", "phoned.toml:5: log.level: set twice (first on line 4)"}},
		{"nesting bomb", "schema = 1\nx = " + strings.Repeat("[", 100000) + "\n", []string{"phoned.toml:2:37: syntax error: arrays and tables nested more than 32 deep"}},
		{"nesting bomb inline", "schema = 1\nx = " + strings.Repeat("{a=", 100) + "1" + strings.Repeat("}", 100) + "\n", []string{"phoned.toml:2:101: syntax error: arrays and tables nested more than 32 deep"}},
		{"long dotted key", "schema = 1\n" + strings.Repeat("a.", 200000) + "b = 1\n", []string{"phoned.toml:2: syntax error: dotted key with more than 32 parts"}},
		{"long table header", "schema = 1\n[" + strings.Repeat("a.", 40) + "b]\n", []string{"phoned.toml:2: syntax error: dotted key with more than 32 parts"}},
		{"too large", "schema = 1\n#" + strings.Repeat("x", MaxSize) + "\n", []string{"phoned.toml:1: file too large (more than 1048576 bytes)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkLines(t, parseErr(t, tt.src), tt.want) })
	}
}

// Brackets in strings and comments are not nesting.
func TestDepthCheckIgnoresStrings(t *testing.T) {
	deep := strings.Repeat("[", 40)
	mustParse(t, "schema = 1 # "+deep+"\n[account]\npassword = \""+deep+"\\\"\"\ndisplay_name = '"+deep+"'\n"+
		"auth_user = \"\"\"\n"+deep+"\"\"\"\"\n[audio.pulse]\nsink = '''"+deep+"''''\n")
}

func TestMultipleErrors(t *testing.T) {
	src := `schema = 1

[sip]
listne = "127.0.0.1:5060"
transport = "sctp"

[account]
user = "bad user"
registrar = "tel:123"

[audio]
device = "alsa"
codecs = ["PCMU", "PCMU"]
rtp_port_min = 16385

[phone]
interdigit_timeout = 5

[directory]
"abc" = "sip:abc@example.com"

[api]
listen = 8080

[log]
level = "verbose"
`
	checkLines(t, parseErr(t, src), []string{
		`phoned.toml:4: sip.listne: unknown key (did you mean "listen"?)`,
		`phoned.toml:5: sip.transport: unknown transport "sctp" (want udp, tcp or tls)`,
		`phoned.toml:8: account.user: invalid SIP user "bad user" (allowed: letters, digits, -_.!~*'()&=+$,;?/ and %XX escapes)`,
		`phoned.toml:9: account.registrar: invalid server "tel:123": unsupported scheme "tel" (want host[:port] or a sip: URI)`,
		`phoned.toml:12: audio.device: unknown device "alsa" (want pulse, wav, null or auto)`,
		`phoned.toml:13: audio.codecs[1]: duplicate codec "PCMU" (already at [0])`,
		`phoned.toml:14: audio.rtp_port_min: 16385 is odd (RTP uses even ports, RTCP the odd one above)`,
		`phoned.toml:17: phone.interdigit_timeout: want a duration string with a unit, e.g. "5s" or "5ms", got the number 5`,
		`phoned.toml:20: directory.abc: not a dialable string (want 1 to 32 of 0-9, * and #)`,
		`phoned.toml:23: api.listen: want a string, got integer`,
		`phoned.toml:26: log.level: unknown level "verbose" (want debug, info, warn or error)`,
	})
}

func TestErrorNameIsOneLine(t *testing.T) {
	_, err := Parse("evil\nname.toml", []byte("schema = 1\nx = 1\n"))
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.HasPrefix(err.Error(), `evil\nname.toml:2: x:`) {
		t.Errorf("error = %q", err)
	}
	_, err = Parse(name, []byte("schema = 1\n\"a\\nb\" = 1\n"))
	if err == nil || err.Error() != `phoned.toml:2: "a\nb": unknown key` {
		t.Errorf("error = %q", err)
	}
}
