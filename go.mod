module github.com/deskphone/phoned

go 1.26

require (
	github.com/emiago/sipgo v1.7.2
	github.com/icholy/digest v1.2.0
	github.com/jfreymuth/pulse v0.1.2-0.20250227192922-7a016f9e4952
	github.com/pelletier/go-toml/v2 v2.2.4
	github.com/pion/rtp v1.10.6
	github.com/pion/srtp/v3 v3.1.3
	github.com/zaf/g711 v1.4.0
	golang.org/x/sys v0.41.0
	golang.org/x/term v0.34.0
	periph.io/x/conn/v3 v3.7.2
	periph.io/x/host/v3 v3.8.5
)

require (
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/pool v0.2.1 // indirect
	github.com/gobwas/ws v1.3.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jonboulle/clockwork v0.4.0 // indirect
	github.com/pion/logging v0.2.4 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtcp v1.2.20 // indirect
	github.com/pion/transport/v5 v5.1.1 // indirect
	golang.org/x/sync v0.16.0 // indirect
)
