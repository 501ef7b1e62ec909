package config

import "fmt"

// Layer is one file of a layered config (provisioning): the phone's own
// file first, then the fetched files, later ones winning key by key.
type Layer struct {
	Name string // for error messages: the path or URL of the file
	Data []byte
}

// ParseLayers parses each file, merges them key by key (tables merge, a
// later file's value replaces an earlier one's, arrays whole), and
// decodes and validates the result as one config. Every file must be
// valid TOML with `schema = 1`; each problem names the file it is in (a
// missing required key, the file that set its table). A fetched file may
// not touch [provisioning] unless the local file sets
// provisioning.allow_override = true (the phone's way back to its
// provisioning server stays its own), nor ever [system]. Paths are left
// as written.
func ParseLayers(local Layer, fetched ...Layer) (cfg *Config, err error) {
	return ParseLayersIn("", local, fetched...)
}

// ParseLayersIn is ParseLayers with relative sip.ca, sip.client_cert and
// sip.client_key made absolute against dir (the phone's own file's
// directory) before they are read and checked.
func ParseLayersIn(dir string, local Layer, fetched ...Layer) (cfg *Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			// As in Parse: a pushed file must never take the phone down.
			cfg, err = nil, joinErrors([]*Error{{File: oneLine(local.Name), Line: 1, Msg: oneLine(fmt.Sprintf("internal error: %v (please report these files)", r))}})
		}
	}()
	layers := append([]Layer{local}, fetched...)
	var errs []*Error
	merged := map[string]any{}
	md := &document{name: oneLine(local.Name), pos: map[string]int{}, origin: map[string]string{}}
	for _, l := range layers {
		md.files = append(md.files, oneLine(l.Name))
	}
	allow := false
	for i, l := range layers {
		doc, tree, e := read(l.Name, l.Data)
		if e != nil {
			errs = append(errs, e...)
			continue
		}
		schema := []string{"schema"}
		if v, ok := tree["schema"]; !ok {
			errs = append(errs, doc.errorf(1, "schema", "required key missing: add the line `schema = %d` at the top of the file", SchemaVersion))
			continue
		} else if n, ok := v.(int64); !ok || n != SchemaVersion {
			errs = append(errs, doc.errorf(doc.line(schema), "schema", "unsupported schema %v (this firmware reads %d)", v, SchemaVersion))
			continue
		}
		if i == 0 {
			if p, ok := tree["provisioning"].(map[string]any); ok {
				allow, _ = p["allow_override"].(bool)
			}
		} else if _, ok := tree["provisioning"]; ok && !allow {
			errs = append(errs, doc.errorf(doc.line([]string{"provisioning"}), "provisioning",
				"a fetched file may not change [provisioning] (the phone's own file allows it with provisioning.allow_override = true)"))
			continue
		} else if _, ok := tree["system"]; ok {
			errs = append(errs, doc.errorf(doc.line([]string{"system"}), "system",
				"a fetched file may not change [system] (where the phone keeps its state is the phone's own file's to say)"))
			continue
		}
		mergeTree(merged, tree)
		for k, line := range doc.pos {
			md.pos[k] = line
			md.origin[k] = doc.name
		}
	}
	if len(errs) > 0 {
		return nil, md.join(errs) // file by file, in layer order, then by line
	}
	return decodeTree(md, merged, dir)
}

// mergeTree merges src into dst: tables recursively, anything else
// replaced.
func mergeTree(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				mergeTree(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
}
