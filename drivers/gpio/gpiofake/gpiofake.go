// Package gpiofake is a GPIO chip of periph gpiotest pins for tests: lines
// by chip and offset or by name, edges fed through each pin's EdgesChan,
// and a keypad matrix whose column levels follow the driven rows and the
// keys held down.
package gpiofake

import (
	"fmt"
	"sync"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/deskphone/phoned/drivers/gpio"
)

// Chip is one fake gpiochip with a fixed number of lines. Lines are
// gpiotest.Pins named "<chip>-<offset>" unless given names.
type Chip struct {
	Name  string
	mu    sync.Mutex
	lines []pgpio.PinIO
	names map[string]int
}

// NewChip returns a chip of n fake lines; every pin has an unbuffered
// EdgesChan, so a send returns once the watcher has taken the edge.
func NewChip(name string, n int) *Chip {
	c := &Chip{Name: name, names: map[string]int{}}
	for i := range n {
		c.lines = append(c.lines, &gpiotest.Pin{N: fmt.Sprintf("%s-%d", name, i), Num: i, EdgesChan: make(chan pgpio.Level)})
	}
	return c
}

// SetName gives line off a kernel line name.
func (c *Chip) SetName(off int, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names[name] = off
}

// Pin returns the gpiotest pin at off (nil when it was replaced).
func (c *Chip) Pin(off int) *gpiotest.Pin {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, _ := c.lines[off].(*gpiotest.Pin)
	return p
}

// Replace puts p at offset off.
func (c *Chip) Replace(off int, p pgpio.PinIO) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines[off] = p
}

// Line implements gpio.Chips.
func (c *Chip) Line(s gpio.Spec) (pgpio.PinIO, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.Chip != "" && s.Chip != c.Name {
		return nil, fmt.Errorf("%w: %s (no chip %q)", gpio.ErrNoLine, s, s.Chip)
	}
	off := s.Offset
	if s.Name != "" {
		o, ok := c.names[s.Name]
		if !ok {
			return nil, fmt.Errorf("%w: %s", gpio.ErrNoLine, s)
		}
		off = o
	}
	if off < 0 || off >= len(c.lines) {
		return nil, fmt.Errorf("%w: %s (the chip has %d lines)", gpio.ErrNoLine, s, len(c.lines))
	}
	return c.lines[off], nil
}

// Matrix wires keys between row and column lines of a chip: a column
// reads active while a held key's row is driven active. Rows are plain
// gpiotest pins; columns are replaced by MatrixCol pins.
type Matrix struct {
	chip         *Chip
	rows, cols   []int // offsets
	rowActiveLow bool
	colActiveLow bool
	mu           sync.Mutex
	held         map[[2]int]bool
}

// NewMatrix wires rows and cols (offsets on c) with the given polarities.
func NewMatrix(c *Chip, rows, cols []int, rowActiveLow, colActiveLow bool) *Matrix {
	m := &Matrix{chip: c, rows: rows, cols: cols, rowActiveLow: rowActiveLow, colActiveLow: colActiveLow, held: map[[2]int]bool{}}
	for j, off := range cols {
		c.Replace(off, &MatrixCol{Pin: gpiotest.Pin{N: fmt.Sprintf("%s-%d", c.Name, off), Num: off}, m: m, col: j})
	}
	return m
}

// Press holds the key at row r, column col down.
func (m *Matrix) Press(r, col int) { m.set(r, col, true) }

// Release lets it go.
func (m *Matrix) Release(r, col int) { m.set(r, col, false) }

func (m *Matrix) set(r, col int, down bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if down {
		m.held[[2]int{r, col}] = true
	} else {
		delete(m.held, [2]int{r, col})
	}
}

// MatrixCol is a column line: its level follows the rows and held keys.
// Without diodes, current also flows back through other held keys, which
// is what makes a ghost key: column c reads active when an active row
// reaches it through any path of held keys.
type MatrixCol struct {
	gpiotest.Pin
	m   *Matrix
	col int
}

// Read implements gpio.PinIn.
func (p *MatrixCol) Read() pgpio.Level {
	active := p.m.reaches(p.col)
	return pgpio.Level(active != p.m.colActiveLow)
}

// reaches reports whether an active row connects to column col through
// held keys (rows and columns as the nodes of a graph, keys as its edges).
func (m *Matrix) reaches(col int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	seenR := make([]bool, len(m.rows))
	seenC := make([]bool, len(m.cols))
	var stackR []int
	for i, off := range m.rows {
		pin := m.chip.Pin(off)
		if pin == nil {
			continue
		}
		if (pin.Read() == pgpio.High) != m.rowActiveLow {
			seenR[i] = true
			stackR = append(stackR, i)
		}
	}
	for len(stackR) > 0 {
		r := stackR[len(stackR)-1]
		stackR = stackR[:len(stackR)-1]
		for c := range m.cols {
			if !m.held[[2]int{r, c}] || seenC[c] {
				continue
			}
			seenC[c] = true
			for r2 := range m.rows {
				if m.held[[2]int{r2, c}] && !seenR[r2] {
					seenR[r2] = true
					stackR = append(stackR, r2)
				}
			}
		}
	}
	return seenC[col]
}
