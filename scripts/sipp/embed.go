// Package sipp holds the interop lab's SIPp scenarios (*.xml), embedded so
// that test binaries carry them. scripts/lab runs them (lab.RunSIPp with
// Scenario set to a file name here); each file's header comment says what
// it plays, which keys (-key name value) it takes and what makes it fail.
package sipp

import "embed"

// Scenarios holds every *.xml scenario of this directory.
//
//go:embed *.xml
var Scenarios embed.FS
