// Package provision fetches a phone's provisioning files and says when to
// fetch them (issue 13, items 3 and 4). It does not parse or apply them:
// the caller merges and validates the bytes (firmware/config) and calls
// Fetcher.Applied with what it applied.
//
// Contract:
//
//   - Source names a directory (https://, http:// or file://, with the
//     macros {mac}, {model}, {version}; ExpandURL). Fetch reads
//     common.toml, then <mac>.toml; either may be absent (404, 410, or no
//     such file), not both (ErrNotFound naming both URLs). Result.Files is
//     in merge order: common first, then the MAC file.
//   - Each file is at most config.MaxSize bytes (ErrTooLarge); any status
//     other than 200, 304, 404 and 410 is ErrStatus with the status and the
//     page title; at most MaxRedirects redirects, never from https to http
//     (ErrRedirect). TLS failures (ErrTLS) say what failed: unknown
//     authority, wrong host name, expired, client certificate refused (a
//     TLS alert, or nginx's 400 page about the SSL certificate).
//   - HTTPS is verified against Source.CA, else the system roots; a client
//     certificate is presented when set (mTLS). No proxy is used. The client
//     is a small HTTP/1.1 GET client on crypto/tls (client.go), one
//     connection per request (Connection: close), not net/http's Client,
//     whose Transport would cost about 500 KiB of the armv7 binary. Each
//     request (connect, handshake, answer, body) is bounded by
//     Source.Timeout: ErrTimeout naming the file.
//   - A 401 is answered once with Digest (RFC 7616, github.com/icholy/digest)
//     or Basic (RFC 7617) credentials, Digest preferred, for the
//     directory's host only (a redirect to another host gets none). Basic over plain http is refused unless the
//     host is loopback; Digest over http is allowed (the password is not
//     sent). A refused login is ErrAuth naming the user. The password is
//     never in a URL, a log line or an error; a URL with user:password@ in
//     it is refused by NewFetcher.
//   - User-Agent: "phoned/<version> (<model>; <mac>)".
//   - Unchanged: If-None-Match carries the ETag of what was last applied
//     (Fetcher.Applied); a 304, or a 200 whose SHA-256 equals the applied
//     file's, counts as unchanged; Result.Unchanged is true when every file
//     is unchanged and the set of files is the same. A 304 returns the
//     applied bytes, so Result.Files is always complete for a merge.
//   - With Source.PublicKey set, every file that is not the applied one
//     needs <file>.sig: a detached Ed25519 signature (RFC 8032) of the
//     file's bytes, either the raw 64 bytes or their standard base64 as
//     text (white space and padding optional). Missing or not matching:
//     ErrSignature, and nothing of that fetch is returned. The signature
//     covers the bytes only, not the name or a date: a file signed once
//     stays valid until the key changes. scripts/provsign signs files.
//   - Schedule: Boot is uniform in [0, BootDelayMax); Next after a success
//     is Interval (default 24 h) plus Spread, a MAC-derived offset in
//     [0, Interval/10); after n failures in a row it is the n-th back-off
//     step (default 1m, 5m, 15m, 1h, 4h, the last repeating) times a
//     factor uniform in [0.8, 1.2).
//   - DHCP: LeaseURL reads option 160 (wins) or 66 from systemd-networkd,
//     dhclient and udhcpc lease files (formats in lease.go); a bare host
//     becomes http://HOST/. DefaultMAC is the MAC of the IPv4 default
//     route's interface.
//
// The fleet simulation in schedule_test.go measures the load a fleet puts
// on the server around an outage.
package provision
