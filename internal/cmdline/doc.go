// Package cmdline is ipvsadm 1.31's command-line grammar: popt's option
// scanning (clusters, optional arguments, "!#:+" handling), the option and
// tunnel compatibility matrices, the checks in ipvsadm's order with its
// exact messages, and the tokenizer of -R input. Parsing yields a Command
// in the terms of package rules; nothing here talks to the kernel.
package cmdline
