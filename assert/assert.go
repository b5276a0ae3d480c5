// Package assert evaluates visor check's assertions: boolean expressions
// (github.com/expr-lang/expr) over a report's fields by their JSON paths
// under summary, on the whole run or on every bucket, and writes the results
// as text, JSON or JUnit XML.
package assert

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	mdns "github.com/miekg/dns"
)

// Assertion is one named expression that must be true.
type Assertion struct {
	Name        string `json:"name"`
	Expr        string `json:"expr"`
	Description string `json:"description,omitempty"`
	PerBucket   bool   `json:"per_bucket"`
}

// Check is an assertion compiled against an Env, ready to evaluate.
type Check struct {
	Assertion
	program *vm.Program
	probes  []probe // the fields it reads, then the computed operands of its comparisons
	fills   []fill
}

// probe is a sub-expression whose value a result shows.
type probe struct {
	text    string
	derived bool
	program *vm.Program
}

// fill is a count that may be absent from a map and then counts as 0.
type fill struct {
	path []string // the map, e.g. [dns rcodes]
	key  string
}

// Error is an assertion that cannot be compiled or evaluated: bad usage,
// never a failed assertion.
type Error struct {
	Assertion Assertion
	Bucket    string // "start–end" when evaluation failed in a bucket
	Err       error
}

func (e *Error) Error() string {
	where := ""
	if e.Bucket != "" {
		where = " in bucket " + e.Bucket
	}
	return fmt.Sprintf("assert: %s%s: %v", quoteName(e.Assertion), where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func quoteName(a Assertion) string {
	if a.Name != "" && a.Name != a.Expr {
		return fmt.Sprintf("%s (%q)", a.Name, a.Expr)
	}
	return fmt.Sprintf("%q", a.Expr)
}

var (
	rcodePattern = regexp.MustCompile(`^RCODE[0-9]+$`)
	qtypePattern = regexp.MustCompile(`^TYPE[0-9]+$`)
)

// countMaps are the maps whose absent keys count 0: the report lists only
// the rcodes, qtypes and integrity reasons it saw. known says which keys
// are names at all, so that a misspelt one is still an unknown field.
var countMaps = map[string]struct {
	what  string
	known func(string) bool
}{
	"dns.rcodes": {"an rcode name (NOERROR, SERVFAIL, ..., RCODE<n>)", func(k string) bool {
		return rcodePattern.MatchString(k) || slices.Contains(valuesOf(mdns.RcodeToString), k)
	}},
	"dns.qtypes": {"a query type name (A, AAAA, ..., TYPE<n>)", func(k string) bool {
		return qtypePattern.MatchString(k) || slices.Contains(valuesOf(mdns.TypeToString), k)
	}},
	// Integrity reasons are open-ended; any name is accepted.
	"integrity": {"an integrity reason", func(string) bool { return true }},
}

func valuesOf[K comparable](m map[K]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Compile parses a's expression and checks every field it names against
// env's summary. An unknown field is an *Error naming it.
func Compile(a Assertion, env *Env) (*Check, error) {
	if strings.TrimSpace(a.Expr) == "" {
		return nil, &Error{Assertion: a, Err: errors.New("empty expression")}
	}
	if a.Name == "" {
		a.Name = a.Expr
	}
	tree, err := parser.Parse(a.Expr)
	if err != nil {
		return nil, &Error{Assertion: a, Err: err}
	}
	c := &compiler{env: env.summary, lets: map[string]bool{}, inner: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, visitFunc(func(n *ast.Node) {
		if d, ok := (*n).(*ast.VariableDeclaratorNode); ok {
			c.lets[d.Name] = true
		}
	}))
	ast.Walk(&tree.Node, visitFunc(c.visit))
	if c.err != nil {
		return nil, &Error{Assertion: a, Err: c.err}
	}
	prog, err := expr.Compile(a.Expr, expr.Env(env.summary), expr.AsBool())
	if err != nil {
		return nil, &Error{Assertion: a, Err: err}
	}
	ch := &Check{Assertion: a, program: prog, fills: c.fills}
	seen := map[string]bool{}
	add := func(n ast.Node, derived bool) {
		text := n.String()
		if seen[text] {
			return
		}
		seen[text] = true
		// An operand inside a predicate or using a let variable does not
		// compile alone; it is then simply not shown.
		if p, err := expr.Compile(text, expr.Env(env.summary)); err == nil {
			ch.probes = append(ch.probes, probe{text: text, derived: derived, program: p})
		}
	}
	for _, n := range c.chains {
		if !c.inner[n] {
			add(n, false)
		}
	}
	for _, n := range c.operands {
		add(n, true)
	}
	return ch, nil
}

type visitFunc func(*ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(n) }

// compiler checks names and collects what a result shows.
type compiler struct {
	env      map[string]any
	lets     map[string]bool
	err      error
	fills    []fill
	chains   []ast.Node        // field accesses rooted at an environment name
	inner    map[ast.Node]bool // chains that a longer chain extends
	operands []ast.Node        // computed sides of comparisons
}

func (c *compiler) visit(np *ast.Node) {
	switch n := (*np).(type) {
	case *ast.IdentifierNode, *ast.MemberNode:
		if m, ok := n.(*ast.MemberNode); ok {
			c.inner[m.Node] = true
		}
		if !c.isChain(n) {
			return
		}
		c.chains = append(c.chains, n)
		if _, _, _, err := c.resolve(n); err != nil && c.err == nil {
			c.err = err
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "==", "!=", "<", "<=", ">", ">=":
			for _, side := range []ast.Node{n.Left, n.Right} {
				if !c.isChain(side) && !isLiteral(side) {
					c.operands = append(c.operands, side)
				}
			}
		}
	}
}

// isChain reports whether n reads a field: a name of the environment
// followed by constant member accesses or indexes.
func (c *compiler) isChain(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return !c.lets[n.Value]
	case *ast.ChainNode:
		return c.isChain(n.Node)
	case *ast.MemberNode:
		switch n.Property.(type) {
		case *ast.StringNode, *ast.IntegerNode:
			return c.isChain(n.Node)
		}
	}
	return false
}

func isLiteral(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode:
		return true
	case *ast.UnaryNode:
		return isLiteral(n.Node)
	}
	return false
}

// resolve follows a chain through the summary's objects. ok is false when
// the chain goes into a list, which only evaluation can check.
func (c *compiler) resolve(n ast.Node) (path []string, v any, ok bool, err error) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		v, found := c.env[n.Value]
		if !found && n.Value == Baseline {
			return nil, nil, false, errors.New("unknown field baseline: no baseline was given")
		}
		if !found {
			return nil, nil, false, fmt.Errorf("unknown field %s", n.Value)
		}
		return []string{n.Value}, v, true, nil
	case *ast.ChainNode:
		return c.resolve(n.Node)
	case *ast.MemberNode:
		path, base, ok, err := c.resolve(n.Node)
		if !ok || err != nil {
			return nil, nil, false, err
		}
		key, isString := n.Property.(*ast.StringNode)
		if !isString {
			return nil, nil, false, nil
		}
		full := append(slices.Clone(path), key.Value)
		m, isMap := base.(map[string]any)
		if !isMap {
			if _, isList := base.([]any); isList {
				return nil, nil, false, nil
			}
			return nil, nil, false, fmt.Errorf("unknown field %s: %s is a value, not an object", strings.Join(full, "."), strings.Join(path, "."))
		}
		v, found := m[key.Value]
		// baseline.dns.rcodes is a count map as dns.rcodes is.
		mapName := strings.TrimPrefix(strings.Join(path, "."), Baseline+".")
		if counts, isCounts := countMaps[mapName]; isCounts {
			// A bucket may lack a count the summary has, so every count
			// read is filled where absent.
			if !found && !counts.known(key.Value) {
				return nil, nil, false, fmt.Errorf("unknown field %s: %q is not %s", strings.Join(full, "."), key.Value, counts.what)
			}
			c.fills = append(c.fills, fill{path: path, key: key.Value})
			return full, float64(0), true, nil
		}
		if !found {
			return nil, nil, false, fmt.Errorf("unknown field %s", strings.Join(full, "."))
		}
		return full, v, true, nil
	}
	return nil, nil, false, nil
}

// Value is one probe's value: a field the expression reads, or (Derived)
// a computed side of a comparison.
type Value struct {
	Name    string
	Value   any
	Derived bool
}

// BucketResult is a bucket where a per-bucket assertion failed.
type BucketResult struct {
	Start, End string
	Values     []Value
}

// Result is the outcome of one assertion.
type Result struct {
	Assertion
	Passed bool
	// Values are the summary's, for an assertion on the whole run.
	Values []Value
	// Buckets is how many buckets a per-bucket assertion was checked in;
	// Failing lists those where it was false.
	Buckets int
	Failing []BucketResult
}

// Evaluate runs ch on the summary, or on every bucket when PerBucket.
func (ch *Check) Evaluate(env *Env) (Result, error) {
	r := Result{Assertion: ch.Assertion, Passed: true}
	if !ch.PerBucket {
		vars := ch.withFills(env.summary)
		ok, err := ch.run(vars)
		if err != nil {
			return r, &Error{Assertion: ch.Assertion, Err: err}
		}
		r.Passed, r.Values = ok, ch.values(vars)
		return r, nil
	}
	for _, b := range env.buckets {
		vars := ch.withFills(b.vars)
		ok, err := ch.run(vars)
		if err != nil {
			return r, &Error{Assertion: ch.Assertion, Bucket: b.start + "–" + b.end, Err: err}
		}
		r.Buckets++
		if !ok {
			r.Passed = false
			r.Failing = append(r.Failing, BucketResult{Start: b.start, End: b.end, Values: ch.values(vars)})
		}
	}
	return r, nil
}

func (ch *Check) run(vars map[string]any) (bool, error) {
	out, err := expr.Run(ch.program, vars)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("the expression gives %T, not true or false", out)
	}
	return b, nil
}

func (ch *Check) values(vars map[string]any) []Value {
	out := make([]Value, 0, len(ch.probes))
	for _, p := range ch.probes {
		v, err := expr.Run(p.program, vars)
		if err != nil {
			v = "error: " + err.Error()
		}
		out = append(out, Value{Name: p.text, Value: v, Derived: p.derived})
	}
	return out
}

// withFills returns vars with a 0 for every absent count the expression
// reads, copying the maps on the way so that vars itself is not changed.
func (ch *Check) withFills(vars map[string]any) map[string]any {
	if len(ch.fills) == 0 {
		return vars
	}
	root := shallow(vars)
	for _, f := range ch.fills {
		m := root
		for _, k := range f.path {
			next, _ := m[k].(map[string]any)
			next = shallow(next)
			m[k] = next
			m = next
		}
		if _, ok := m[f.key]; !ok {
			m[f.key] = float64(0)
		}
	}
	return root
}

func shallow(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Results are the outcomes of a check run.
type Results struct {
	Inputs     []string
	Buckets    int
	Assertions []Result
	// Interrupted is set when a signal stopped the run: the values cover
	// part of the input, so the results never pass.
	Interrupted bool
}

// Passed reports whether every assertion held on the whole input.
func (rs *Results) Passed() bool {
	if rs.Interrupted {
		return false
	}
	for _, r := range rs.Assertions {
		if !r.Passed {
			return false
		}
	}
	return true
}

// Counts returns how many assertions passed and failed.
func (rs *Results) Counts() (passed, failed int) {
	for _, r := range rs.Assertions {
		if r.Passed {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}

// Run compiles every assertion, so that an unknown field anywhere is
// reported before anything runs, then evaluates them in order.
func Run(env *Env, as []Assertion) (*Results, error) {
	checks := make([]*Check, 0, len(as))
	for _, a := range as {
		ch, err := Compile(a, env)
		if err != nil {
			return nil, err
		}
		checks = append(checks, ch)
	}
	rs := &Results{Buckets: env.Buckets()}
	for _, ch := range checks {
		r, err := ch.Evaluate(env)
		if err != nil {
			return nil, err
		}
		rs.Assertions = append(rs.Assertions, r)
	}
	return rs, nil
}
