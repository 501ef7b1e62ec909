package board

import "time"

var clockStart = time.Unix(0, 0)
