package sdp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// key30 and key28 are key||salt values of the AES_CM and GCM lengths.
var (
	key30 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5}, 30))
	key28 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5A}, 28))
)

// RFC 4568 §9.1 grammar, read strictly (crypto.go).
func TestParseCrypto(t *testing.T) {
	for _, tt := range []struct {
		in       string
		ok       bool
		tag      uint32
		suite    Suite
		lifetime uint64
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, true, 1, AESCM128SHA1_80, 0},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:" + key30, true, 2, AESCM128SHA1_32, 0},
		{"7 AEAD_AES_128_GCM inline:" + key28, true, 7, AEADAES128GCM, 0},
		{"7 AEAD_AES_128_GCM inline:" + strings.TrimRight(key28, "="), true, 7, AEADAES128GCM, 0}, // padding left off
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31", true, 1, AESCM128SHA1_80, 1 << 31},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^48", true, 1, AESCM128SHA1_80, 1 << 48},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|4294967296", true, 1, AESCM128SHA1_80, 1 << 32},
		{"999999999 AES_CM_128_HMAC_SHA1_80 inline:" + key30, true, 999999999, AESCM128SHA1_80, 0},
		// Refused.
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20", false, 0, "", 0},      // lifetime we cannot honour
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^49", false, 0, "", 0},      // beyond RFC 3711 §9.2
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4", false, 0, "", 0},       // MKI
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:4", false, 0, "", 0},  // MKI
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|2^31", false, 0, "", 0}, // two lifetimes
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + ";inline:" + key30, false, 0, "", 0},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=1", false, 0, "", 0}, // session parameter
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key28, false, 0, "", 0},            // wrong length
		{"1 AEAD_AES_128_GCM inline:" + key30, false, 0, "", 0},
		{"1 AES_256_CM_HMAC_SHA1_80 inline:" + key30, false, 0, "", 0}, // suite not supported
		{"1 F8_128_HMAC_SHA1_80 inline:" + key30, false, 0, "", 0},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:http://x/" + key30, false, 0, "", 0},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:!!!notbase64!!!", false, 0, "", 0},
		{"1 AES_CM_128_HMAC_SHA1_80", false, 0, "", 0},
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + key30, false, 0, "", 0},
		{"-1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, false, 0, "", 0},
		{"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, false, 0, "", 0}, // 10 digits
		{"", false, 0, "", 0},
	} {
		c, err := ParseCrypto(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v, want ok=%t", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrCrypto) {
				t.Errorf("%q: %v does not wrap ErrCrypto", tt.in, err)
			}
			if strings.Contains(err.Error(), key30[:20]) {
				t.Errorf("%q: the error quotes the key: %v", tt.in, err)
			}
			continue
		}
		if c.Tag != tt.tag || c.Suite != tt.suite || c.Lifetime != tt.lifetime {
			t.Errorf("%q: got %d %s %d", tt.in, c.Tag, c.Suite, c.Lifetime)
		}
	}
}

// A key of ours goes out in the SDP body and parses back the same, and
// never prints (fmt verbs, slog).
func TestCryptoRoundTripAndMasking(t *testing.T) {
	keys, err := NewKeys([]Suite{AESCM128SHA1_80, AESCM128SHA1_32, AEADAES128GCM})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := NewKeys([]Suite{AESCM128SHA1_80})
	if bytes.Equal(keys[0].Key, again[0].Key) {
		t.Fatal("two calls got the same key")
	}
	for _, k := range keys {
		back, err := ParseCrypto(k.attribute())
		if err != nil {
			t.Fatalf("%s: %v", k.Suite, err)
		}
		if back.Tag != k.Tag || back.Suite != k.Suite || !bytes.Equal(back.Key, k.Key) {
			t.Fatalf("%s: round trip changed it", k.Suite)
		}
		raw := base64.StdEncoding.EncodeToString(k.Key)
		neg := Negotiated{SRTP: SRTPKeys{Suite: k.Suite, Local: k.Key, Remote: k.Key}}
		var logged bytes.Buffer
		slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "crypto", k, "key", k.Key, "neg", neg.SRTP)
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "crypto", k, "key", k.Key, "neg", neg)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			for _, v := range []any{k, k.Key, neg, &neg, []Crypto{k}, Media{Crypto: []Crypto{k}}} {
				out := fmt.Sprintf(verb, v)
				if strings.Contains(out, raw[:16]) || strings.Contains(out, fmt.Sprintf("%x", []byte(k.Key))[:16]) ||
					strings.Contains(out, fmt.Sprint([]byte(k.Key))[:16]) {
					t.Fatalf("%s of %T shows the key: %s", verb, v, out)
				}
			}
		}
		if strings.Contains(logged.String(), raw[:16]) {
			t.Fatalf("slog shows the key: %s", logged.String())
		}
		body := Offer(Media{Addr: local.Addr, Codecs: local.Codecs, SRTP: SRTPRequired, Crypto: []Crypto{k}}, 1)
		if k.Suite != AEADAES128GCM && !strings.Contains(string(body), raw) {
			t.Fatalf("the offer lacks the key line:\n%s", body)
		}
		if m := MaskKeys(body); strings.Contains(m, raw) || (k.Suite != AEADAES128GCM && !strings.Contains(m, "inline:[key]")) {
			t.Fatalf("MaskKeys left the key:\n%s", m)
		}
	}
}

func cryptoLine(tag int, suite Suite, key string) string {
	return fmt.Sprintf("a=crypto:%d %s inline:%s", tag, suite, key)
}

// RFC 4568 §7.1: what we offer per mode, and what we answer to each offer.
func TestSRTPOfferAnswer(t *testing.T) {
	keys, err := NewKeys([]Suite{AESCM128SHA1_80, AESCM128SHA1_32, AEADAES128GCM})
	if err != nil {
		t.Fatal(err)
	}
	with := func(mode SRTPMode) Media {
		m := local
		m.SRTP, m.Crypto = mode, keys
		return m
	}
	// Offers.
	for _, tt := range []struct {
		mode  SRTPMode
		proto string
		lines int
	}{{SRTPOff, ProtoAVP, 0}, {SRTPOptional, ProtoAVP, 2}, {SRTPRequired, ProtoSAVP, 2}} {
		s, err := Parse(Offer(with(tt.mode), 1))
		if err != nil {
			t.Fatal(err)
		}
		if s.Proto != tt.proto || len(s.Crypto) != tt.lines {
			t.Errorf("%s: offer %s with %d crypto lines, want %s with %d", tt.mode, s.Proto, len(s.Crypto), tt.proto, tt.lines)
		}
		if tt.lines == 2 && (s.Crypto[0].Suite != AESCM128SHA1_80 || s.Crypto[1].Suite != AESCM128SHA1_32 || s.Crypto[0].Tag != 1) {
			t.Errorf("%s: offered %v", tt.mode, s.Crypto)
		}
	}

	m := "m=audio 5004 %s 0 101"
	for _, tt := range []struct {
		name  string
		mode  SRTPMode
		proto string
		lines []string
		err   error
		suite Suite
		tag   uint32
	}{
		{"savp, first usable suite", SRTPOptional, ProtoSAVP, []string{cryptoLine(3, "AES_256_CM_HMAC_SHA1_80", key30),
			cryptoLine(4, AESCM128SHA1_32, key30), cryptoLine(5, AESCM128SHA1_80, key30)}, nil, AESCM128SHA1_32, 4},
		{"gcm when offered", SRTPRequired, ProtoSAVP, []string{cryptoLine(9, AEADAES128GCM, key28)}, nil, AEADAES128GCM, 9},
		{"avp with crypto, optional", SRTPOptional, ProtoAVP, []string{cryptoLine(1, AESCM128SHA1_80, key30)}, nil, AESCM128SHA1_80, 1},
		{"avp with crypto, required", SRTPRequired, ProtoAVP, []string{cryptoLine(1, AESCM128SHA1_80, key30)}, nil, AESCM128SHA1_80, 1},
		{"avp with crypto, off: plain", SRTPOff, ProtoAVP, []string{cryptoLine(1, AESCM128SHA1_80, key30)}, nil, "", 0},
		{"plain offer, optional: plain", SRTPOptional, ProtoAVP, nil, nil, "", 0},
		{"plain offer, required: 488", SRTPRequired, ProtoAVP, nil, ErrNoSRTP, "", 0},
		{"savp without crypto: 488", SRTPOptional, ProtoSAVP, nil, ErrNoSRTP, "", 0},
		{"savp with only unusable crypto: 488", SRTPOptional, ProtoSAVP, []string{cryptoLine(1, AESCM128SHA1_80, key30) + "|1:4"}, ErrNoSRTP, "", 0},
		{"savp, srtp off: 488", SRTPOff, ProtoSAVP, []string{cryptoLine(1, AESCM128SHA1_80, key30)}, ErrNoSRTP, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			offer := offerOf(t, fmt.Sprintf(m, tt.proto), append([]string{"a=rtpmap:101 telephone-event/8000"}, tt.lines...)...)
			body, neg, err := Answer(offer, with(tt.mode))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if neg.SRTP.Suite != tt.suite {
				t.Fatalf("suite %q, want %q", neg.SRTP.Suite, tt.suite)
			}
			ans, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if ans.Proto != tt.proto {
				t.Errorf("answer profile %s, want the offer's %s", ans.Proto, tt.proto)
			}
			if tt.suite == "" {
				if len(ans.Crypto) != 0 || neg.SRTP.On() {
					t.Fatalf("plain answer carries crypto: %v", ans.Crypto)
				}
				return
			}
			if len(ans.Crypto) != 1 || ans.Crypto[0].Tag != tt.tag || ans.Crypto[0].Suite != tt.suite {
				t.Fatalf("answer crypto %v, want one line tag %d %s", ans.Crypto, tt.tag, tt.suite)
			}
			mine, _ := keyFor(keys, tt.suite)
			if !bytes.Equal(neg.SRTP.Local, mine.Key) || !bytes.Equal(ans.Crypto[0].Key, mine.Key) ||
				!bytes.Equal(neg.SRTP.Remote, offeredKey(offer, tt.tag)) {
				t.Fatal("keys not the ones negotiated")
			}
		})
	}
}

// offeredKey is the key of the offered line with tag.
func offeredKey(s Session, tag uint32) Key {
	for _, c := range s.Crypto {
		if c.Tag == tag {
			return c.Key
		}
	}
	return nil
}

// RFC 4568 §7.1.3: the answer to our offer must pick one of our lines.
func TestSRTPAccept(t *testing.T) {
	keys, _ := NewKeys([]Suite{AESCM128SHA1_80, AESCM128SHA1_32, AEADAES128GCM})
	with := func(mode SRTPMode) Media {
		m := local
		m.SRTP, m.Crypto = mode, keys
		return m
	}
	for _, tt := range []struct {
		name  string
		mode  SRTPMode
		proto string
		lines []string
		err   error
		suite Suite
	}{
		{"picks _32", SRTPRequired, ProtoSAVP, []string{cryptoLine(2, AESCM128SHA1_32, key30)}, nil, AESCM128SHA1_32},
		{"optional, answered with crypto", SRTPOptional, ProtoAVP, []string{cryptoLine(1, AESCM128SHA1_80, key30)}, nil, AESCM128SHA1_80},
		{"optional, plain answer", SRTPOptional, ProtoAVP, nil, nil, ""},
		{"required, plain answer: hang up", SRTPRequired, ProtoAVP, nil, ErrNoSRTP, ""},
		{"required, savp answer without crypto", SRTPRequired, ProtoSAVP, nil, ErrNoSRTP, ""},
		{"tag we did not offer", SRTPOptional, ProtoAVP, []string{cryptoLine(7, AESCM128SHA1_80, key30)}, ErrNoSRTP, ""},
		{"suite changed under our tag", SRTPOptional, ProtoAVP, []string{cryptoLine(1, AESCM128SHA1_32, key30)}, ErrNoSRTP, ""},
		{"gcm we did not offer", SRTPOptional, ProtoAVP, []string{cryptoLine(3, AEADAES128GCM, key28)}, ErrNoSRTP, ""},
		{"unusable line: no plain fallback", SRTPOptional, ProtoAVP, []string{cryptoLine(1, AESCM128SHA1_80, key30) + "|2^10"}, ErrNoSRTP, ""},
		{"off: crypto ignored", SRTPOff, ProtoAVP, []string{cryptoLine(1, AESCM128SHA1_80, key30)}, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ans := offerOf(t, "m=audio 5004 "+tt.proto+" 0", tt.lines...)
			neg, err := Accept(ans, with(tt.mode))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if neg.SRTP.Suite != tt.suite {
				t.Fatalf("suite %q, want %q", neg.SRTP.Suite, tt.suite)
			}
			if tt.suite != "" {
				mine, _ := keyFor(keys, tt.suite)
				if !bytes.Equal(neg.SRTP.Local, mine.Key) || !bytes.Equal(neg.SRTP.Remote, ans.Crypto[0].Key) {
					t.Fatal("wrong keys")
				}
			}
		})
	}
}

func FuzzParseCrypto(f *testing.F) {
	for _, s := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30,
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:4",
		"7 AEAD_AES_128_GCM inline:" + key28,
		"1 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^20 KDR=1",
		"1 AES_CM_128_HMAC_SHA1_80 inline:||||",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCrypto(v)
		if err != nil {
			if !errors.Is(err, ErrCrypto) {
				t.Fatalf("%v does not wrap ErrCrypto", err)
			}
			return
		}
		n, ok := c.Suite.keySaltLen()
		if !ok || len(c.Key) != n {
			t.Fatalf("accepted suite %q with a %d-octet key", c.Suite, len(c.Key))
		}
		back, err := ParseCrypto(c.attribute())
		if err != nil || back.Tag != c.Tag || back.Suite != c.Suite || !bytes.Equal(back.Key, c.Key) {
			t.Fatalf("round trip of %q: %v", v, err)
		}
	})
}

// A logger through MaskHandler never shows an inline key, whether the SDP
// is the message, a string, an error, a stringer or in a group.
func TestMaskHandler(t *testing.T) {
	keys, _ := NewKeys(OfferSuites)
	body := Offer(Media{Addr: local.Addr, Codecs: local.Codecs, SRTP: SRTPOptional, Crypto: keys}, 9)
	raw := base64.StdEncoding.EncodeToString(keys[0].Key)
	if !strings.Contains(string(body), raw) {
		t.Fatal("no key in the offer")
	}
	var out bytes.Buffer
	log := slog.New(MaskHandler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log = log.With("pre", string(body))
	log.Debug("sent:\n"+string(body), "body", string(body), "err", fmt.Errorf("bad: %s", body),
		slog.Group("g", "b", body, "s", strings.NewReader(string(body))))
	log.WithGroup("grp").Info("x", "body", string(body))
	if strings.Contains(out.String(), raw) || strings.Contains(out.String(), raw[:12]) {
		t.Fatalf("a key got through:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "inline:[key]") {
		t.Fatalf("nothing masked:\n%s", out.String())
	}
}

func FuzzMaskKeys(f *testing.F) {
	f.Add([]byte("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31\r\n"))
	f.Add([]byte("INLINE:abc;inline:def inline: inline:\u0130\u0130x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := MaskKeys(b)
		if MaskKeys([]byte(m)) != m {
			t.Fatalf("not idempotent: %q", m)
		}
		// Nothing but "[key]" follows an inline: prefix.
		l := asciiLower(m)
		for i := strings.Index(l, "inline:"); i >= 0; {
			rest := m[i+len("inline:"):]
			if rest != "" && !strings.HasPrefix(rest, keyShown) && !strings.ContainsRune("|; \t\r\n", rune(rest[0])) {
				t.Fatalf("unmasked key in %q", m)
			}
			next := strings.Index(l[i+1:], "inline:")
			if next < 0 {
				break
			}
			i += 1 + next
		}
	})
}
