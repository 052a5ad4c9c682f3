# finops_usage: cloud cost and usage as PostgreSQL foreign tables

MODULE_big = finops_usage

# the engine
OBJS = \
	$(WIN32RES) \
	src/auth.o \
	src/availability.o \
	src/cache.o \
	src/comment.o \
	src/derived.o \
	src/explain.o \
	src/fdw.o \
	src/focus.o \
	src/guc.o \
	src/http.o \
	src/import.o \
	src/json.o \
	src/jsonwalk.o \
	src/message.o \
	src/option.o \
	src/period.o \
	src/plan.o \
	src/providers.o \
	src/quals.o \
	src/request.o \
	src/scan.o \
	src/stats.o \
	src/upper.o \
	src/values.o

# the providers, one folder each
OBJS += \
	src/aws/ce.o \
	src/aws/ce_results.o \
	src/aws/cost_by_resource.o \
	src/aws/cloudwatch.o \
	src/aws/cost.o \
	src/aws/cost_forecast.o \
	src/aws/docs.o \
	src/aws/credentials.o \
	src/aws/focus.o \
	src/aws/metrics.o \
	src/aws/metrics_window.o \
	src/aws/provider.o \
	src/aws/sign.o \
	src/aws/sigv4.o \
	src/aws/sts.o \
	src/aws/xml.o \
	src/azure/credentials.o \
	src/azure/docs.o \
	src/azure/focus.o \
	src/azure/metrics.o \
	src/azure/provider.o \
	src/azure/usage.o \
	src/gcp/bigquery.o \
	src/gcp/credentials.o \
	src/gcp/docs.o \
	src/gcp/focus.o \
	src/gcp/jwt.o \
	src/gcp/monitoring.o \
	src/gcp/provider.o \
	src/gcp/rs256.o

PGFILEDESC = "finops_usage - cloud cost and usage foreign data wrapper"

EXTENSION = finops_usage
DATA = finops_usage--1.0.sql

PG_CPPFLAGS = -Isrc $(shell pkg-config --cflags libcurl jansson openssl 2>/dev/null)
SHLIB_LINK = $(shell pkg-config --libs libcurl jansson libcrypto 2>/dev/null || echo -lcurl -ljansson -lcrypto)

# pg_regress runs against the cluster and emulator test/run.sh starts;
# the tests mirror src/: the engine's, then each provider's
REGRESS = $(shell cat test/schedule)
REGRESS_OPTS = --inputdir=. --outputdir=test/results

EXTRA_CLEAN = test/results

# no LLVM bitcode: a fresh machine need not have clang
override with_llvm = no

PG_CONFIG = pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies by default
$(OBJS): $(wildcard src/*.h src/*/*.h)

.PHONY: test demo
test:
	bash test/run.sh

demo:
	bash test/demo.sh
