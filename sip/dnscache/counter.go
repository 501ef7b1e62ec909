package dnscache

import "sync/atomic"

type atomicCounter struct{ n atomic.Uint64 }

func (c *atomicCounter) add()         { c.n.Add(1) }
func (c *atomicCounter) load() uint64 { return c.n.Load() }
