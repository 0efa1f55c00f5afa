# vidgan build. `make` builds build/libvidgan.a, build/libvidgan.so and
# build/vidgan; `make test` builds and runs the whole suite; `make asan` runs
# it under AddressSanitizer + UndefinedBehaviorSanitizer; `make fixtures`
# regenerates the PyTorch reference fixtures (needs python3-torch);
# `make bench` builds the benchmarks.
#
# Every src/**/*.c is part of the library. Tests: tests/test_*.c link the
# float library; tests/grad_*.c link a double-precision build of the engine
# (-DVG_REAL_F64) for central-difference gradient checks.
#
# The CUDA backend (src/backend/cuda/*.cu) is built whenever nvcc is found
# (CUDA=auto, the default; CUDA=1 insists, CUDA=0 leaves it out), for
# CUDA_ARCH (default 90: H100/H200 code plus PTX that newer cards compile at
# load time). Without a GPU at run time the library still works on the CPU.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
PYTHON  ?= /usr/bin/python3

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  := -std=c11 $(OPT) -g $(WARN) -fopenmp -fPIC -D_DEFAULT_SOURCE -Iinclude -Isrc $(EXTRA_CFLAGS)
LDLIBS  := -fopenmp -ljansson -lpng -lz -lm -ldl $(EXTRA_LDLIBS)

LIB_SRC := $(shell find src -name '*.c' -not -path 'src/backend/cuda/*' | sort)
F64_SRC := $(filter src/core/% src/ops/% src/backend/cpu/% src/backend/registry.c src/nn/%,$(LIB_SRC))

CUDA_HOME ?= /usr/local/cuda
NVCC      ?= $(CUDA_HOME)/bin/nvcc
CUDA      ?= auto
CUDA_ARCH ?= 90
CUDA_ON   := $(if $(filter auto,$(CUDA)),$(if $(wildcard $(NVCC)),1,0),$(CUDA))
ifeq ($(CUDA_ON),1)
  CU_SRC := $(sort $(wildcard src/backend/cuda/*.cu))
  NVCCFLAGS := -std=c++17 -O2 -lineinfo -arch=sm_$(CUDA_ARCH) --fmad=false -Iinclude -Isrc \
               -Xcompiler -fPIC,-Wall,-Wextra $(EXTRA_NVCCFLAGS)
  CUDA_LIBS := -L$(CUDA_HOME)/lib64 -Wl,--disable-new-dtags,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublas -lcudart -lstdc++
  $(info vidgan: CUDA backend on ($(NVCC), sm_$(CUDA_ARCH)); CUDA=0 leaves it out)
else
  CU_SRC :=
  $(info vidgan: CUDA backend off ($(if $(filter auto,$(CUDA)),no $(NVCC); set CUDA_HOME,CUDA=$(CUDA))))
endif
CLI_SRC := $(shell find tools/vidgan -name '*.c' 2>/dev/null | sort)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
GRAD_SRC := $(sort $(wildcard tests/grad_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
HEADERS := $(shell find include src tests -name '*.h')

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CUDA_OBJ := $(CU_SRC:%.cu=$(BUILD)/obj/%.o)
F64_OBJ := $(F64_SRC:%.c=$(BUILD)/f64/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
GRAD_BIN := $(GRAD_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

# The CUDA objects are not in libvidgan.a or libvidgan.so: the CUDA
# libraries cost every process that loads them ~200 MiB of resident memory
# and about half a second at start. The GPU test and benchmark below link
# them; the vidgan program and libvidgan.so load them as the plugin
# libvidgan_cuda.so when --device cuda (or auto) asks for the GPU; it
# stays beside them in $(BUILD) (src/backend/registry.c says where it looks).
CUDA_PLUGIN := $(if $(CU_SRC),$(BUILD)/libvidgan_cuda.so)
CUDA_PROGS := $(BUILD)/tests/test_backend_parity $(BUILD)/bench/bench_train_cuda

.PHONY: all test asan fixtures bench clean
all: $(BUILD)/libvidgan.a $(BUILD)/libvidgan.so $(BUILD)/vidgan $(CUDA_PLUGIN)

$(CUDA_PROGS): $(CUDA_OBJ)
$(CUDA_PROGS): CUDA_LINK = $(CUDA_OBJ)
$(CUDA_PROGS): CUDA_LINK_LIBS = $(CUDA_LIBS)

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cu $(HEADERS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(BUILD)/f64/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVG_REAL_F64 -c $< -o $@

$(BUILD)/libvidgan.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libvidgan_f64.a: $(F64_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libvidgan.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(BUILD)/libvidgan_cuda.so: $(CUDA_OBJ)
	$(CC) -shared -o $@ $^ -Wl,--no-undefined $(CUDA_LIBS) -lm $(EXTRA_LDLIBS)

$(BUILD)/vidgan: $(CLI_OBJ) $(BUILD)/libvidgan.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libvidgan.a $(LDLIBS)

# what test_lazy_libs expects of this build
$(BUILD)/tests/test_lazy_libs: TEST_DEFS = -DVG_CUDA_BUILT=$(CUDA_ON) -DVG_CUDA_HOME='"$(CUDA_HOME)"'

$(BUILD)/tests/test_%: tests/test_%.c $(BUILD)/libvidgan.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_DEFS) -Itests -o $@ $< $(CUDA_LINK) $(BUILD)/libvidgan.a $(LDLIBS) $(CUDA_LINK_LIBS)

$(BUILD)/tests/grad_%: tests/grad_%.c $(BUILD)/libvidgan_f64.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVG_REAL_F64 -Itests -o $@ $< $(BUILD)/libvidgan_f64.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libvidgan.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(CUDA_LINK) $(BUILD)/libvidgan.a $(LDLIBS) $(CUDA_LINK_LIBS)

test: all $(TEST_BIN) $(GRAD_BIN)
	@sh tests/run.sh $(BUILD)/tests

asan:
	$(MAKE) test BUILD=build-asan OPT=-O1 \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    EXTRA_LDLIBS="-fsanitize=address,undefined"

bench: $(BENCH_BIN)

fixtures:
	@for f in tools/fixtures/make_*.py; do echo "$(PYTHON) $$f"; $(PYTHON) $$f || exit 1; done

clean:
	rm -rf build build-asan
