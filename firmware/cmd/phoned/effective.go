package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/deskphone/phoned/firmware/cfgstore"
	"github.com/deskphone/phoned/firmware/config"
)

// The effective config is the phone's own file (-config) with the layers
// provisioning or a push stored in system.state_dir laid over it
// (config.ParseLayers). The state directory is the one the phone's own
// file names: a fetched file cannot move it.

// loadEffective loads path and the stored layers. When the stored layers
// no longer combine with the file (the file changed, or the firmware),
// they are left out with a warning, so the phone always starts: warn is
// then non-empty.
func loadEffective(path string) (cfg *config.Config, warn string, err error) {
	local, err := config.Load(path)
	if err != nil {
		return nil, "", err
	}
	set, err := readStore(local)
	if errors.Is(err, cfgstore.ErrNone) {
		return local, "", nil
	}
	if err != nil {
		return local, fmt.Sprintf("stored config layers ignored: %v", err), nil
	}
	n, err := parseWithLayers(path, set.Files)
	if err != nil {
		return local, fmt.Sprintf("stored config layers (%s, %s) ignored: %v", set.Source, set.Hash(), err), nil
	}
	return n, "", nil
}

// readStore reads the stored layers without creating anything.
func readStore(local *config.Config) (cfgstore.Set, error) {
	dir := local.System.StateDir
	if _, err := os.Stat(dir); err != nil {
		return cfgstore.Set{}, cfgstore.ErrNone
	}
	s, err := cfgstore.New(dir)
	if err != nil {
		return cfgstore.Set{}, err
	}
	return s.Current()
}

// parseWithLayers parses the phone's own file at path with files over it,
// making relative paths absolute against path's directory as Load does.
func parseWithLayers(path string, files []cfgstore.File) (*config.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, config.MaxSize+1))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	layers := make([]config.Layer, len(files))
	for i, l := range files {
		layers[i] = config.Layer{Name: l.Name, Data: l.Data}
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		dir = filepath.Dir(path)
	}
	c, err := config.ParseLayersIn(dir, config.Layer{Name: path, Data: data}, layers...)
	if err != nil {
		return nil, err
	}
	config.ResolvePaths(c, dir)
	return c, nil
}
