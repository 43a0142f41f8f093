# make install [DESTDIR=...] [PREFIX=/usr] [VERSION=...]: the binary (with
# this implementation's version built in), its ipvsadm-save and
# ipvsadm-restore names, the man page, bash completion, the JSON schema and
# the systemd unit. Included by the Makefile.
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
UNITDIR ?= /lib/systemd/system
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: install

install:
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/ipvsadm ./cmd/ipvsadm
	install -D -m 0755 bin/ipvsadm $(DESTDIR)$(SBINDIR)/ipvsadm
	ln -sf ipvsadm $(DESTDIR)$(SBINDIR)/ipvsadm-save
	ln -sf ipvsadm $(DESTDIR)$(SBINDIR)/ipvsadm-restore
	install -D -m 0644 dist/ipvsadm.8 $(DESTDIR)$(MANDIR)/man8/ipvsadm.8
	ln -sf ipvsadm.8 $(DESTDIR)$(MANDIR)/man8/ipvsadm-save.8
	ln -sf ipvsadm.8 $(DESTDIR)$(MANDIR)/man8/ipvsadm-restore.8
	install -D -m 0644 dist/ipvsadm.bash-completion $(DESTDIR)$(DATADIR)/bash-completion/completions/ipvsadm
	install -D -m 0644 docs/ipvsadm.schema.json $(DESTDIR)$(DATADIR)/ipvsadm/ipvsadm.schema.json
	install -D -m 0644 dist/ipvsadm.service $(DESTDIR)$(UNITDIR)/ipvsadm.service
