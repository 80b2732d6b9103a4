package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Value is the result of evaluating an expression: nil, string, float64,
// bool, or an Object.
type Value any

// Object is a value with fields and methods, such as a host or a credential.
type Object interface {
	// Field returns the named field; ok is false for an unknown field.
	Field(name string) (v Value, ok bool)
	// Method calls the named method; an unknown method is an error.
	Method(name string, args []Value) (Value, error)
}

// Env gives names and functions their meaning.
type Env interface {
	// Lookup returns the value of a bare name; ok is false for an unknown name.
	Lookup(name string) (v Value, ok bool, err error)
	// Func calls a function other than the built-in coalesce and if.
	Func(name string, args []Value) (Value, error)
}

// ErrUnknown marks an error about a name, field, method or function that does
// not exist.
var ErrUnknown = errors.New("unknown")

// Eval evaluates n against env.
func Eval(n Node, env Env) (Value, error) {
	switch n := n.(type) {
	case Literal:
		return n.Value, nil
	case Name:
		v, ok, err := env.Lookup(n.Name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w name %q", ErrUnknown, n.Name)
		}
		return v, nil
	case Field:
		return evalField(n, env)
	case Call:
		return evalCall(n, env)
	case Not:
		v, err := Eval(n.X, env)
		if err != nil {
			return nil, err
		}
		return !Truthy(v), nil
	case Binary:
		return evalBinary(n, env)
	}
	return nil, fmt.Errorf("unsupported expression %T", n)
}

func evalField(n Field, env Env) (Value, error) {
	// A dotted path whose root is not a name the env knows may be a
	// dotted name itself (for example a parameter called "nagios.path").
	if path, ok := dottedPath(n); ok {
		if v, found, err := env.Lookup(path); err != nil || found {
			return v, err
		}
	}
	x, err := Eval(n.X, env)
	if err != nil {
		return nil, err
	}
	obj, ok := x.(Object)
	if !ok {
		if x == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("%w field %q on a %s", ErrUnknown, n.Name, typeName(x))
	}
	v, ok := obj.Field(n.Name)
	if !ok {
		return nil, fmt.Errorf("%w field %q", ErrUnknown, n.Name)
	}
	return v, nil
}

func dottedPath(n Node) (string, bool) {
	switch n := n.(type) {
	case Name:
		return n.Name, true
	case Field:
		p, ok := dottedPath(n.X)
		return p + "." + n.Name, ok
	}
	return "", false
}

func evalArgs(args []Node, env Env) ([]Value, error) {
	vals := make([]Value, len(args))
	for i, a := range args {
		v, err := Eval(a, env)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

func evalCall(n Call, env Env) (Value, error) {
	if n.X == nil {
		switch n.Func {
		case "coalesce":
			for _, a := range n.Args {
				v, err := Eval(a, env)
				if err != nil {
					return nil, err
				}
				if v != nil && v != "" {
					return v, nil
				}
			}
			return nil, nil
		case "if":
			if len(n.Args) != 3 {
				return nil, fmt.Errorf("if() takes 3 arguments, got %d", len(n.Args))
			}
			c, err := Eval(n.Args[0], env)
			if err != nil {
				return nil, err
			}
			if Truthy(c) {
				return Eval(n.Args[1], env)
			}
			return Eval(n.Args[2], env)
		}
		args, err := evalArgs(n.Args, env)
		if err != nil {
			return nil, err
		}
		return env.Func(n.Func, args)
	}
	x, err := Eval(n.X, env)
	if err != nil {
		return nil, err
	}
	obj, ok := x.(Object)
	if !ok {
		return nil, fmt.Errorf("%w method %q on a %s", ErrUnknown, n.Func, typeName(x))
	}
	args, err := evalArgs(n.Args, env)
	if err != nil {
		return nil, err
	}
	return obj.Method(n.Func, args)
}

func evalBinary(n Binary, env Env) (Value, error) {
	l, err := Eval(n.L, env)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "&&":
		if !Truthy(l) {
			return false, nil
		}
	case "||":
		if Truthy(l) {
			return true, nil
		}
	}
	r, err := Eval(n.R, env)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	}
	return Truthy(r), nil
}

func equal(a, b Value) bool {
	if a == nil || b == nil {
		return (a == nil || a == "") && (b == nil || b == "")
	}
	return String(a) == String(b)
}

// Truthy reports whether v counts as true: non-empty strings other than
// "false" and "no", non-zero numbers, true, and objects.
func Truthy(v Value) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		s := strings.ToLower(v)
		return s != "" && s != "false" && s != "no" && s != "0"
	}
	return true
}

// String renders a value as parameter text: nil is "", whole numbers have no
// decimal point.
func String(v Value) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

func typeName(v Value) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "object"
}
