package interop

import "github.com/deskphone/phoned/firmware/daemon"

type phonedStatus = daemon.Status
