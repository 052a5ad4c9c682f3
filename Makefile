# finops_usage: cloud cost and usage as PostgreSQL foreign tables

MODULE_big = finops_usage
OBJS = \
	$(WIN32RES) \
	src/aws.o \
	src/aws_ce.o \
	src/aws_cost.o \
	src/aws_cost_forecast.o \
	src/aws_metrics.o \
	src/fdw.o \
	src/http.o \
	src/import.o \
	src/json.o \
	src/jsonwalk.o \
	src/option.o \
	src/period.o \
	src/providers.o \
	src/quals.o \
	src/sigv4.o \
	src/values.o
PGFILEDESC = "finops_usage - cloud cost and usage foreign data wrapper"

EXTENSION = finops_usage
DATA = finops_usage--1.0.sql

PG_CPPFLAGS = -Isrc $(shell pkg-config --cflags libcurl jansson openssl 2>/dev/null)
SHLIB_LINK = $(shell pkg-config --libs libcurl jansson libcrypto 2>/dev/null || echo -lcurl -ljansson -lcrypto)

# pg_regress runs against the cluster and emulator test/run.sh starts
REGRESS = setup options import pushdown results paging errors forecast metrics
REGRESS_OPTS = --inputdir=. --outputdir=test/results

EXTRA_CLEAN = test/results

# no LLVM bitcode: a fresh machine need not have clang
override with_llvm = no

PG_CONFIG = pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies by default
$(OBJS): $(wildcard src/*.h)

.PHONY: test demo
test:
	bash test/run.sh

demo:
	bash test/demo.sh
