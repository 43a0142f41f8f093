package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/names"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// run is the whole program: argv includes the program name, which selects
// the ipvsadm-save and ipvsadm-restore personalities and appears in
// messages. It returns the exit status.
func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(argv) == 0 {
		argv = []string{"ipvsadm"}
	}
	switch filepath.Base(argv[0]) {
	case "ipvsadm-save":
		return runSaveScript(argv, stdin, stdout, stderr)
	case "ipvsadm-restore":
		return runRestoreScript(argv, stdin, stdout, stderr)
	}
	std := newStdio(stdout, stderr)
	p := &program{argv0: argv[0], stdin: stdin, out: std.Out, stderr: std, rawStderr: stderr, res: newResolver(),
		tty: isTerminal(stderr), outTTY: isTerminal(stdout), syncOut: std.Sync}
	status := p.main(argv[1:])
	if p.b != nil {
		p.b.Close()
	}
	if p.nsfd > 0 {
		unix.Close(p.nsfd)
	}
	// Output that did not reach its file is an error, not a success that
	// lost data (ipvsadm 1.31 exits 0; see COMPATIBILITY.md).
	if err := std.Close(); err != nil {
		fmt.Fprintf(stderr, "%s: cannot write standard output: %s\n", filepath.Base(argv[0]), ioErrorText(err))
		if status == 0 {
			status = 1
		}
	}
	return status
}

// program is one invocation.
type program struct {
	argv0  string
	stdin  io.Reader
	out    *bufio.Writer
	stderr io.Writer // flushes what glibc would have flushed of out first
	// rawStderr is standard error itself, for modprobe.
	rawStderr io.Writer
	res       names.Resolver
	// syncOut writes what out holds now (see stdio.Sync).
	syncOut func() error
	b       backend
	info    rules.Info // what init read of IPVS

	// Extensions (see COMPATIBILITY.md).
	ext cmdline.Extensions
	tty bool // standard error is a terminal: hints are printed
	// outTTY: standard output is a terminal: -h lists the extensions too.
	outTTY bool
	nsfd   int           // --netns descriptor, 0 for the caller's namespace
	ns     jsondoc.NetNS // the namespace worked on
}

func (p *program) parser() *cmdline.Parser {
	return &cmdline.Parser{Argv0: p.argv0, Resolver: p.res, SchedFlags: sched.ParseFlags, PosixlyCorrect: posixlyCorrect()}
}

// commandParser parses the command line, which may have extensions;
// parser, for restore lines, knows only ipvsadm 1.31's options.
func (p *program) commandParser() *cmdline.Parser {
	ps := p.parser()
	ps.Extensions = true
	return ps
}

// errorf prints one message line to standard error.
func (p *program) errorf(format string, a ...any) {
	p.report(fmt.Sprintf(format, a...), nil, "")
}

// argError prints a refused command line and returns its exit status.
func (p *program) argError(err error) int {
	var ae *cmdline.ArgError
	if !errors.As(err, &ae) {
		p.errorf("%v", err)
		return 2
	}
	p.errorf("%s", ae.Msg)
	return ae.ExitStatus()
}

func (p *program) main(args []string) int {
	cmd, perr := p.commandParser().Parse(args)
	// Help and version need no kernel (ipvsadm 1.31 insists on one: see
	// COMPATIBILITY.md).
	if perr == nil && (cmd.Kind == cmdline.CmdHelp || cmd.Kind == cmdline.CmdVersion || cmd.Kind == cmdline.CmdHelpExtensions) {
		return p.execute(cmd)
	}
	p.ns = callerNetNS()
	if perr != nil {
		// A refused line with --json still gets its error as JSON.
		p.ext.JSON = hasJSONOption(args)
	} else {
		p.ext = cmd.Ext
		if cmd.Ext.NetNS != "" {
			fd, ns, err := openNetNS(cmd.Ext.NetNS)
			if err != nil {
				var ne *netnsError
				errors.As(err, &ne)
				p.report(err.Error(), err, ne.hint)
				return 2
			}
			p.nsfd, p.ns = fd, ns
		}
	}
	// ipvsadm connects before it looks at the arguments, so without IPVS
	// every command fails the same way.
	b, info, err := openBackend(p.rawStderr, p.nsfd)
	if err != nil {
		return p.initError(err)
	}
	p.b, p.info = b, info
	if perr != nil {
		return p.argError(perr)
	}
	switch cmd.Kind {
	case cmdline.CmdDrain:
		return p.drain(cmd)
	case cmdline.CmdUndrain:
		return p.undrain(cmd)
	}
	if cmd.Kind == cmdline.CmdRestore {
		if cmd.Restore.Checked() {
			return p.restoreChecked(cmd.Restore, cmd.Ext.JSON)
		}
		if cmd.Ext.JSON {
			return p.restoreJSON()
		}
		return p.restore()
	}
	return p.execute(cmd)
}

// initError reports a failed connection to IPVS as ipvsadm does and
// returns its exit status.
func (p *program) initError(err error) int {
	var ie *ipvs.Error
	if errors.As(err, &ie) && ie.Op == ipvs.OpEnterNetNS {
		// Not ipvsadm's case: entering the namespace failed.
		p.report(fmt.Sprintf("Cannot enter network namespace \"%s\": %s", p.ext.NetNS, ioErrorText(ie.Err)), err,
			"entering another network namespace needs root (CAP_SYS_ADMIN)")
		return 2
	}
	first := "Can't initialize ipvs: " + errorMessage(err)
	second := "Are you sure that IP Virtual Server is built in the kernel or as module?"
	if p.ext.JSON {
		p.report(first+"\n"+second, err, initHint(err))
		return 2
	}
	p.errorf("%s", first)
	p.report(second, err, initHint(err))
	return 2
}

// kernelError prints ipvsadm's text for a failed modifying command, and
// its hint on a terminal, and returns its exit status.
func (p *program) kernelError(err error, hint string) int {
	if err == nil {
		return 0
	}
	p.report(errorMessage(err), err, hint)
	return 255
}

// execute runs one parsed command and returns its exit status.
func (p *program) execute(cmd cmdline.Command) int {
	// A change is a batch of one: one acknowledged request.
	if b := newBatch(p.b); queueChange(b, &cmd) {
		results, _ := b.Send()
		if results[0] != nil {
			p.report(errorMessage(results[0]), results[0], commandHint(cmd, results[0]))
			return 255
		}
		return 0
	}
	switch cmd.Kind {
	case cmdline.CmdList:
		if cmd.Ext.Predict.Active() {
			return p.predict(cmd)
		}
		if cmd.Ext.JSON || cmd.Ext.System || cmd.List.Conn.Count {
			return p.listExtended(cmd)
		}
		return p.list(cmd)
	case cmdline.CmdSave:
		if cmd.SaveFull {
			return p.saveFull(cmd.List.Numeric)
		}
		return p.save(cmd.List.Numeric)
	case cmdline.CmdHelp:
		writeHelp(p.out, p.argv0, p.outTTY)
		return 0
	case cmdline.CmdVersion:
		writeVersion(p.out)
		return 0
	case cmdline.CmdHelpExtensions:
		writeHelpExtensions(p.out, p.argv0)
		return 0
	}
	return 0
}

// listError reports a failed read for -L and -S, which exit 1.
func (p *program) listError(err error) int {
	p.report(errorMessage(err), err, commandHint(cmdline.Command{Kind: cmdline.CmdList}, err))
	return 1
}

func (p *program) save(numeric bool) int {
	// -S shows of a real server only what a brief table has.
	entries, err := p.b.Table(true)
	if err != nil {
		return p.listError(err)
	}
	if err := render.WriteSave(p.out, entries, numeric, p.res); err != nil {
		return 1
	}
	return 0
}

// saveFull is -S --full: thresholds, timeouts and daemons too.
func (p *program) saveFull(numeric bool) int {
	entries, err := p.b.Table(false)
	if err != nil {
		return p.listError(err)
	}
	timeouts, err := p.b.Timeouts()
	if err != nil {
		return p.listError(err)
	}
	daemons, err := p.b.Daemons()
	if err != nil {
		return p.listError(err)
	}
	if err := render.WriteSaveFull(p.out, entries, timeouts, daemons, numeric, p.res); err != nil {
		return 1
	}
	return 0
}

// restore runs standard input line by line with ipvsadm's semantics:
// option and value errors stop it, popt and kernel errors are reported and
// it goes on, and the status is that of the last line. Changes are
// pipelined to the kernel; anything else (a listing, the end, a stopping
// error) first settles what is queued, so effects and messages come in
// line order. Input is read ahead, and whenever no line is waiting what
// is queued is settled, so a slow or interactive producer still sees each
// line take effect as it is written.
//
// When a line stops the restore, a seekable input is left just after that
// line, as ipvsadm leaves it (glibc moves the file offset back to what was
// consumed on exit), so that `{ ipvsadm -R; cat; } < file` prints the rest.
func (p *program) restore() int {
	// What a line other than a change runs (a listing) may keep much:
	// the collector's usual pace is back for it.
	collectAgain := collectLess()
	defer collectAgain()
	sc := cmdline.NewRestoreScanner(p.stdin)
	chunks := make(chan restoreChunk, 16)
	stop := make(chan struct{})
	defer close(stop)
	go readRestoreChunks(sc, chunks, stop)
	pl := &restorePipeline{p: p, batch: newBatch(p.b)}
	parser := p.parser()
	var chunk restoreChunk
	// Every line is parsed into cmd: see cmdline.Parser.ParseInto.
	var cmd cmdline.Command
	// stopAfter ends the restore after the current line with status.
	var end int64
	stopAfter := func(status int) int {
		p.rewindInput(end)
		return status
	}
	for {
		if pl.lost {
			return pl.status
		}
		if len(chunk.lines) == 0 {
			var ok bool
			select {
			case chunk, ok = <-chunks:
			default:
				pl.settle()
				if pl.lost {
					return pl.status
				}
				chunk, ok = <-chunks
			}
			if !ok {
				break
			}
		}
		args := chunk.lines[0]
		end = chunk.ends[0]
		chunk.lines, chunk.ends = chunk.lines[1:], chunk.ends[1:]
		if err := parser.ParseInto(&cmd, args); err != nil {
			var ae *cmdline.ArgError
			if errors.As(err, &ae) && ae.Kind == cmdline.ArgPopt {
				hint := ""
				if p.tty {
					hint = p.restoreLineHint(args)
				}
				pl.poptError(ae.Msg, hint)
				continue
			}
			pl.settle()
			return stopAfter(p.argError(err))
		}
		if pl.queue(&cmd) {
			continue
		}
		pl.settle()
		if pl.lost {
			return pl.status
		}
		collectAgain()
		switch cmd.Kind {
		case cmdline.CmdRestore:
			p.errorf("%s", cmdline.TryMessage(p.argv0))
			return stopAfter(255)
		case cmdline.CmdHelp, cmdline.CmdVersion:
			return stopAfter(p.execute(cmd))
		}
		pl.status = p.execute(cmd)
		// ipvsadm's listing code exits on failure, ending the restore.
		if pl.status != 0 && (cmd.Kind == cmdline.CmdList || cmd.Kind == cmdline.CmdSave) {
			return stopAfter(pl.status)
		}
	}
	pl.settle()
	if err := sc.Err(); err != nil {
		// ipvsadm 1.31 takes an unreadable input for an empty one and exits
		// 0; a restore that read nothing must not look like success.
		p.errorf("%s: cannot read the rules from standard input: %s", filepath.Base(p.argv0), ioErrorText(err))
		return 1
	}
	return pl.status
}

// rewindInput moves a seekable standard input to offset, where ipvsadm
// would have left it. Other inputs are left alone.
func (p *program) rewindInput(offset int64) {
	if f, ok := p.stdin.(*os.File); ok {
		f.Seek(offset, io.SeekStart)
	}
}

// A restoreChunk is lines of restore input and, for each, the input offset
// just after it.
type restoreChunk struct {
	lines [][]string
	ends  []int64
}

// restoreChunkLines bounds the lines the reader hands over at once.
const restoreChunkLines = 256

// readRestoreChunks scans restore input into chunks of lines. A chunk is
// handed over when it is full or when no further whole line is read
// ahead, so a line is never held back while the reader waits for input.
func readRestoreChunks(sc *cmdline.RestoreScanner, chunks chan<- restoreChunk, stop <-chan struct{}) {
	defer close(chunks)
	var chunk restoreChunk
	for sc.Scan() {
		if chunk.lines == nil {
			chunk.lines = make([][]string, 0, restoreChunkLines)
			chunk.ends = make([]int64, 0, restoreChunkLines)
		}
		chunk.lines = append(chunk.lines, sc.Args())
		chunk.ends = append(chunk.ends, sc.Offset())
		if len(chunk.lines) < restoreChunkLines && sc.LineBuffered() {
			continue
		}
		select {
		case chunks <- chunk:
			chunk = restoreChunk{}
		case <-stop:
			return
		}
	}
	if len(chunk.lines) > 0 {
		select {
		case chunks <- chunk:
		case <-stop:
		}
	}
}

// runSaveScript is Debian's ipvsadm-save: -n for numeric output, any other
// option prints its usage. Our --netns (which the script refuses as any
// other option) names the namespace whose table is saved.
func runSaveScript(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	args := []string{"ipvsadm", "-S"}
	rest, netns := scriptNetNS(argv[1:])
	numeric := false
	for _, a := range rest {
		switch {
		case a == "-n":
			numeric = true
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "%s: Script to save the IPVS table to stdout.\n", filepath.Base(argv[0]))
			fmt.Fprintf(stderr, "   With the -n option, prints out the table in numeric format.\n")
			return 1
		}
	}
	if numeric {
		args = append(args, "-n")
	}
	return run(append(args, netns...), stdin, stdout, stderr)
}

// scriptNetNS takes --netns NAME (or --netns=NAME) out of the arguments of
// the ipvsadm-save and ipvsadm-restore personalities and returns the rest
// and the option for ipvsadm (nil without one; a --netns without its
// value is passed on alone, for ipvsadm's message).
func scriptNetNS(args []string) (rest, netns []string) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--netns" && i+1 < len(args):
			netns = []string{a, args[i+1]}
			i++
		case a == "--netns" || strings.HasPrefix(a, "--netns="):
			netns = []string{a}
		default:
			rest = append(rest, a)
		}
	}
	return rest, netns
}

// runRestoreScript is Debian's ipvsadm-restore: drop lines that start with
// '#', clear the table (always, even if the input is bad), then restore.
// Like the script's shell, it strips trailing newlines from the input and
// ends it with exactly one. The script ignores its arguments; ours takes
// our restore extensions (see restoreScriptExtensions).
func runRestoreScript(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	raw, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	rest, netns := scriptNetNS(argv[1:])
	ext := restoreScriptExtensions(rest)
	text := string(raw)
	text = strings.TrimSuffix(text, "\n")
	var kept []string
	if text != "" || len(raw) > 0 {
		for _, line := range strings.Split(text, "\n") {
			if !strings.HasPrefix(line, "#") {
				kept = append(kept, line)
			}
		}
	}
	input := strings.TrimRight(strings.Join(kept, "\n"), "\n")
	if ext != nil {
		// The script makes the table the input; --replace does so
		// without the flush.
		args := append([]string{"ipvsadm", "-R", "--replace"}, ext...)
		return run(append(args, netns...), strings.NewReader(input+"\n"), stdout, stderr)
	}
	input = echo(input)
	status := run(append([]string{"ipvsadm", "-C"}, netns...), strings.NewReader(""), stdout, stderr)
	if netns != nil && status != 0 {
		// The namespace could not be entered (or cleared): restoring
		// into it would print the same error again, or fill a table that
		// was not cleared.
		return status
	}
	return run(append([]string{"ipvsadm", "-R"}, netns...), strings.NewReader(input), stdout, stderr)
}

// restoreScriptExtensions picks our restore extensions out of
// ipvsadm-restore's arguments (--test, --atomic, --replace, --dry-run,
// --json, --scope ITEMS or --scope=ITEMS); nil if there are none, and
// then the arguments are ignored as the script ignores them.
func restoreScriptExtensions(args []string) []string {
	var ext []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--test" || a == "--atomic" || a == "--replace" || a == "--dry-run" || a == "--json" || strings.HasPrefix(a, "--scope="):
			if a != "--replace" {
				ext = append(ext, a)
			} else if ext == nil {
				ext = []string{}
			}
		case a == "--scope" && i+1 < len(args):
			ext = append(ext, a, args[i+1])
			i++
		}
	}
	return ext
}

// echo is what bash's builtin `echo "$INPUT"` prints: the text and a
// newline, except that a text made only of echo's options (-n, -e, -E,
// combined) is taken as options: -n prints nothing at all, the others an
// empty line.
func echo(text string) string {
	if len(text) > 1 && text[0] == '-' && strings.Trim(text[1:], "neE") == "" {
		if strings.Contains(text, "n") {
			return ""
		}
		return "\n"
	}
	return text + "\n"
}

// lookupEnv reads the environment; tests replace it.
var lookupEnv = os.LookupEnv

// posixlyCorrect reports whether popt would scan options the POSIX way:
// it does when either variable is set, even to nothing.
func posixlyCorrect() bool {
	_, a := lookupEnv("POSIXLY_CORRECT")
	_, b := lookupEnv("POSIX_ME_HARDER")
	return a || b
}

// newResolver is the name service of the system, as ipvsadm sees it.
// Tests replace it with the name data of the VM.
var newResolver = func() names.Resolver { return names.NewSystemResolver() }
