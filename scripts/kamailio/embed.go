// Package kamailio holds the interop lab's Kamailio configuration template
// (kamailio.cfg.tmpl), embedded so that test binaries carry it wherever they
// run. scripts/lab fills it in; see lab.KamailioOptions for its parameters.
package kamailio

import _ "embed"

// Template is kamailio.cfg.tmpl, a text/template for Kamailio 5.6: a
// registrar and stateful proxy with digest auth and users from an htable.
//
//go:embed kamailio.cfg.tmpl
var Template string
