# fence_clc - build, test, install and package.
# Debian 12: the fencing library and pycurl come from Debian packages and run
# under the system interpreter, not whatever python3 comes first on PATH.
PYTHON   ?= /usr/bin/python3
PREFIX   ?= /usr
DESTDIR  ?=
SBINDIR  := $(PREFIX)/sbin
MAN8DIR  := $(PREFIX)/share/man/man8
VERSION  := $(shell sed -n 's/^RELEASE_VERSION = "\(.*\)"/\1/p' fence_clc)
PYTEST   := $(PYTHON) -m pytest -q -p no:cacheprovider
RNG      := /usr/share/cluster/relaxng/metadata.rng

# What each use needs (Debian package names). The demo: the fencing library,
# pycurl and openssl (the simulator's throw-away CA), nothing that starts a
# service. Building the man page and packages, and the checks: BUILD_DEPS.
# The tests: the rest (Pacemaker, Corosync, pcs, a proxy, roots, ...).
DEMO_DEPS  := fence-agents python3-pycurl openssl
BUILD_DEPS := make libxml2-utils xsltproc dpkg-dev dpkg fakeroot rpm man-db lintian \
	python3-pyflakes python3-venv
TEST_DEPS  := python3-pytest python3-pytest-xdist python3-hypothesis curl pacemaker \
	corosync pcs tinyproxy iproute2 util-linux procps mmdebstrap gpg \
	debian-archive-keyring pacemaker-cli-utils git libcurl4-openssl-dev libssl-dev gcc \
	autoconf automake libtool pkgconf python3-configobj ca-certificates crmsh
DEB_DEPS   := $(DEMO_DEPS) $(BUILD_DEPS) $(TEST_DEPS)

# $(call install_packages,WHAT,PACKAGES): install the missing ones, saying
# which and what for first (quiet when all are there).
define install_packages
	@missing=$$(for p in $(2); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing the Debian packages $(1) needs (apt-get, with their dependencies):" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

.PHONY: all deps demo-deps demo demo-cluster test test-fresh test-fast test-cluster test-twonode test-race \
	reliability bench check \
	metadata man install uninstall deb rpm upstream test-upstream test-platforms clean

all: check

## deps: install every Debian package the demo, the build and the tests need
## (root; idempotent, quiet when done)
deps:
	$(call install_packages,the demo/build/tests,$(DEB_DEPS))

## demo-deps: only what make demo needs (root)
demo-deps:
	$(call install_packages,the demo,$(DEMO_DEPS))

## demo: start the bundled CLC simulator and fence a simulated VM (installs only
## DEMO_DEPS)
demo: demo-deps
	$(PYTHON) demo/run_demo.py

# tests/upstream builds ClusterLabs' tree: its own target, test-upstream.
TESTS    := tests --ignore=tests/upstream

## demo-cluster: two Pacemaker nodes in private namespaces lose each other
## while both reach the simulated API; a live timeline shows fence_clc
## settling the race for the preferred node (about a minute; root)
demo-cluster: deps
	$(PYTHON) demo/run_cluster_demo.py

## test: every test (unit, agent, simulator, reliability, Pacemaker, packaging);
## installs what they need first (make deps; quiet when all is there)
test: deps .tools/bin/vermin
	$(PYTEST) -n 4 --dist loadgroup $(TESTS)

## test-fresh: the README's quick start, then make test, on a fresh minimal
## Debian 12 (built once with mmdebstrap, cached under /var/cache; root)
test-fresh: deps
	$(PYTHON) tools/fresh_root.py

## test-fast: everything but the tests that start Pacemaker daemons
test-fast:
	$(PYTEST) -n 4 -m "not cluster" $(TESTS)

## test-cluster: only the tests that start Pacemaker/Corosync daemons (root)
test-cluster:
	$(PYTEST) -m cluster $(TESTS)

## test-twonode: two and three nodes fence each other's VM (split brain, the
## fence race and its recipes, quorum, crmsh); prints outcomes and timings
test-twonode:
	$(PYTEST) -rP tests/twonode

## test-race: the fence race (no delay, each recipe) and the three-node
## partition, RUNS times each (default 5; about 20 s a run); prints each outcome
RUNS ?= 5
test-race:
	FENCE_CLC_RACE_RUNS=$(RUNS) $(PYTEST) -rP tests/twonode/test_race.py tests/twonode/test_threenode.py

## test-platforms: the agent on every supported platform (RHEL 8/9 libraries,
## Debian 11/12/13, upstream main), Pacemaker in the Debian 11/13 roots; the
## roots and RHEL 8's Python 3.6 venv are built once and cached in /var/cache
test-platforms:
	$(PYTEST) tests/platforms

## reliability: the fault matrix, bad input, secrets, concurrency; prints the
## matrix and its totals (also in build/reliability/matrix.json)
reliability:
	$(PYTEST) -n 4 -m reliability $(TESTS)

## bench: time to fence, requests, start-up, scale, concurrency as ratios
## (about 70 s; not part of test, which runs a smoke version of it)
bench:
	$(PYTHON) bench/run_bench.py

## check: metadata schema and drift, README options, Python 3.6 syntax, lint
check: .tools/bin/vermin
	@tmp=$$(mktemp) && trap 'rm -f "$$tmp"' EXIT && \
	$(PYTHON) ./fence_clc -o metadata > "$$tmp" && \
	xmllint --noout --relaxng $(RNG) "$$tmp" && \
	{ diff -u tests/data/metadata/fence_clc.xml "$$tmp" || \
	  { echo "metadata differs: review it, then run 'make metadata'"; exit 1; }; } && \
	echo "metadata: valid and equal to tests/data/metadata/fence_clc.xml"
	$(PYTHON) tools/options_table.py --check README.md
	.tools/bin/vermin -q --no-tips --target=3.6- --violations fence_clc
	$(PYTHON) -m pyflakes $(wildcard fence_clc clcsim tests tools demo bench)

.tools/bin/vermin:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install -q vermin

## metadata: refresh the checked-in metadata after an option change
metadata:
	./fence_clc -o metadata > tests/data/metadata/fence_clc.xml
	$(PYTHON) tools/options_table.py --write README.md

## man: fence_clc.8 as upstream builds its pages (manpage XML, schema, XSLT);
## temporary names per run so parallel builds never see a half-written page
FENCE2MAN := /usr/share/cluster/relaxng/fence2man.xsl
# The page's date: when the agent last changed (stable from build to build).
MAN_DATE  := $(shell date -u -r fence_clc +%Y-%m-%d)
man: fence_clc.8
fence_clc.8: fence_clc packaging/fence_clc.8.extra
	@set -e; tmp=.$@.$$$$; trap 'rm -f $$tmp.xml $$tmp' EXIT; \
	$(PYTHON) ./fence_clc -o manpage > $$tmp.xml; \
	invalid=$$(xmllint --noout --relaxng $(RNG) $$tmp.xml 2>&1) || \
		{ echo "$$invalid" >&2; exit 1; }; \
	xsltproc $(FENCE2MAN) $$tmp.xml | sed \
		-e 's/^\.TH FENCE_AGENT 8 .*/.TH FENCE_CLC 8 "$(MAN_DATE)" "fence_clc $(VERSION)" "Fence agents"/' \
		-e 's/ The operational behavior of this is not known\./ Display the XML source of this manual page./' \
		-e '/^Vendor URL: *$$/d' \
		> $$tmp; \
	cat packaging/fence_clc.8.extra >> $$tmp; \
	mv $$tmp $@; echo "built $@"

install: fence_clc.8
	install -D -m 0755 fence_clc $(DESTDIR)$(SBINDIR)/fence_clc
	install -D -m 0644 fence_clc.8 $(DESTDIR)$(MAN8DIR)/fence_clc.8

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/fence_clc $(DESTDIR)$(MAN8DIR)/fence_clc.8

## deb, rpm: packages in $(DISTDIR), built in $(BUILDDIR)
BUILDDIR   ?= build
DISTDIR    ?= dist
MAINTAINER ?= fence_clc maintainers <fence-clc@example.org>
deb: fence_clc.8
	rm -rf $(BUILDDIR)/deb
	$(MAKE) --no-print-directory install DESTDIR=$(BUILDDIR)/deb PREFIX=/usr
	packaging/build-deb "$(VERSION)" $(BUILDDIR)/deb $(DISTDIR) "$(MAINTAINER)"

rpm:
	packaging/build-rpm "$(VERSION)" $(BUILDDIR)/rpm $(DISTDIR)

## upstream: build/upstream/0001-fence_clc-new-fence-agent.patch, the agent as
## a pull request to ClusterLabs fence-agents (needs ../shared/upstream;
## configures and builds upstream's tree for its metadata, about 30 s)
UPSTREAM_AUTHOR ?= $(MAINTAINER)
upstream:
	$(PYTHON) tools/upstream.py --out build/upstream --python $(PYTHON) \
		--author "$(UPSTREAM_AUTHOR)"

## test-upstream: that patch applied to upstream's tree, built, checked with
## its make check, installed and run against the simulator, also by its
## scenario runner (about 2 min; logs in build/test-upstream)
test-upstream:
	$(PYTEST) tests/upstream

clean:
	rm -rf fence_clc.8 build dist .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
