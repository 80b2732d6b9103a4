package script

import "github.com/dop251/goja"

// nashornPrelude emulates the few Nashorn (Java) conveniences Bergamot's
// templates use: new java.lang.Integer(x) and friends, and
// Java.type('java.util.LinkedList') / ArrayList as arrays with add/size/get.
const nashornPrelude = `(function(g) {
	function num(parse) { return function(v) { return new Number(parse(v)); }; }
	function list() {
		var a = [];
		a.add = function(x) { a.push(x); return true; };
		a.size = function() { return a.length; };
		a.get = function(i) { return a[i]; };
		a.isEmpty = function() { return a.length === 0; };
		a.toArray = function() { return a.slice(); };
		return a;
	}
	var java = {
		lang: {
			Integer: num(function(v) { return parseInt(v, 10); }),
			Long: num(function(v) { return parseInt(v, 10); }),
			Double: num(parseFloat),
			Float: num(parseFloat),
			String: function(v) { return new String(v); }
		},
		util: { LinkedList: list, ArrayList: list }
	};
	g.java = java;
	g.Java = { type: function(name) {
		var o = g, parts = String(name).split('.');
		for (var i = 0; i < parts.length && o; i++) o = o[parts[i]];
		if (!o) throw new TypeError('Java.type: ' + name + ' is not available to Bergamot scripts');
		return o;
	} };
})(this);`

// compilePrelude compiles the prelude; each engine does it once.
func compilePrelude() *goja.Program {
	return goja.MustCompile("nashorn-prelude.js", nashornPrelude, false)
}
