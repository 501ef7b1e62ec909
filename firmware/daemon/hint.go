package daemon

import (
	"strconv"
	"strings"
)

// registrationHint says in plain words what to check when registration
// fails, for the commonest causes; "" when there is nothing to add. It
// reads the last response code and the reason the UA gave.
func registrationHint(state string, code int, reason string) string {
	r := strings.ToLower(reason)
	switch {
	case state == "unconfirmed":
		return "the registrar stopped answering the keep-alive: check the network path to it (cable, VPN, firewall)"
	case state != "failed":
		return ""
	case code == 401 || code == 407:
		return "the registrar refused the credentials: check account.password and account.auth_user (and account.realm if set)"
	case code == 403:
		return "the registrar forbids this account here: check account.user and account.domain, and that the account exists and may register from this address"
	case code == 404:
		return "the registrar does not know this user: check account.user and account.domain"
	case code == 423:
		return "the registrar wants a longer registration: raise account.register_expires"
	case code >= 500:
		return "the registrar has a problem of its own (" + strconv.Itoa(code) + "): ask its admin, or add a backup registrar"
	case code != 0:
		return ""
	case strings.Contains(r, "timeout") || strings.Contains(r, "timed out") || strings.Contains(r, "did not answer"):
		return "the registrar did not answer within 32 s (RFC 3261 Timer F): check account.registrar's address and port, and any firewall between"
	case strings.Contains(r, "no such host") || strings.Contains(r, "resolv") || strings.Contains(r, "dns"):
		return "the registrar's name did not resolve: check account.registrar and sip.dns (or the DHCP DNS servers)"
	case strings.Contains(r, "connection refused"):
		return "nothing listens at the registrar's address: check account.registrar's port and sip.transport"
	case strings.Contains(r, "certificate") || strings.Contains(r, "tls"):
		return "the TLS handshake with the registrar failed: check sip.ca and the registrar's certificate"
	case strings.Contains(r, "network is unreachable") || strings.Contains(r, "no route"):
		return "no route to the registrar: check the phone's network (address, gateway)"
	}
	return ""
}
