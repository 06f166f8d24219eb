// Verilator harness: reads a job (config + DRAM image), runs the layer, writes counters and the
// output words. Job file: int64 ncfg, ncfg int64 config values (in CFG order), int64 nwords,
// nwords uint64 DRAM words, int64 out_word, int64 out_count. Result: int64 compute, transfer,
// writeback, post, total cycles, int64 sim nanoseconds, int64 DRAM beats, out_count uint64 words.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>
#include "Vohq_tb.h"
#include "verilated.h"

static std::vector<uint64_t> dram;

extern "C" long long dram_rd(int addr) {
  return (addr >= 0 && (size_t)addr < dram.size()) ? (long long)dram[addr] : 0;
}
extern "C" void dram_wr(int addr, long long data, long long mask) {
  if (addr < 0 || (size_t)addr >= dram.size()) return;
  uint64_t m = (uint64_t)mask;
  dram[addr] = (dram[addr] & ~m) | ((uint64_t)data & m);
}

static int64_t rd(FILE* f) {
  int64_t v = 0;
  if (fread(&v, 8, 1, f) != 1) { fprintf(stderr, "error: truncated job file\n"); exit(2); }
  return v;
}

int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "error: usage: harness JOB RESULT\n"); return 2; }
  FILE* f = fopen(argv[1], "rb");
  if (!f) { fprintf(stderr, "error: cannot open %s\n", argv[1]); return 2; }
  int64_t ncfg = rd(f);
  const int64_t NREG = 70;  // the registers below, in CFG order (ohq.hw.rtl.job)
  if (ncfg != NREG) { fprintf(stderr, "error: job has %lld registers, the harness %lld\n", (long long)ncfg, (long long)NREG); return 2; }
  std::vector<int64_t> c(ncfg);
  for (auto& v : c) v = rd(f);
  int64_t nw = rd(f);
  dram.resize(nw);
  if (nw && fread(dram.data(), 8, nw, f) != (size_t)nw) { fprintf(stderr, "error: truncated DRAM image\n"); return 2; }
  int64_t out_word = rd(f), out_count = rd(f);
  fclose(f);

  auto ctx = std::make_unique<VerilatedContext>();
  auto top = std::make_unique<Vohq_tb>(ctx.get());
  int i = 0;
  top->cin_g = c[i++]; top->in_h = c[i++]; top->in_w = c[i++]; top->cout_g = c[i++];
  top->groups = c[i++]; top->kh = c[i++]; top->kw = c[i++]; top->stride = c[i++];
  top->pad = c[i++]; top->out_h = c[i++]; top->out_w = c[i++]; top->band_oh = c[i++];
  top->frows = c[i++]; top->kdim = c[i++]; top->zin = c[i++]; top->lo = c[i++];
  top->hi = c[i++]; top->shift_k = c[i++]; top->acc_mode = c[i++]; top->out_bits = c[i++]; top->in_bit = c[i++];
  top->out_bit = c[i++]; top->w_word = c[i++];
  int64_t max_cycles = c[i++];
  top->unit = c[i++];
  top->v_c = c[i++]; top->v_ih = c[i++]; top->v_iw = c[i++]; top->v_oh = c[i++]; top->v_ow = c[i++];
  top->v_kh = c[i++]; top->v_kw = c[i++]; top->v_stride = c[i++]; top->v_pad = c[i++]; top->v_dil = c[i++];
  top->v_pool = c[i++]; top->v_two = c[i++]; top->v_lut = c[i++]; top->v_abits = c[i++];
  top->v_bbits = c[i++]; top->v_obits = c[i++]; top->v_shift = c[i++]; top->v_lo = c[i++];
  top->v_hi = c[i++]; top->v_m0 = c[i++]; top->v_m1 = c[i++]; top->v_c0 = c[i++];
  top->v_aw = c[i++]; top->v_bw = c[i++]; top->v_tw = c[i++]; top->v_ow0 = c[i++];
  top->v_apw = c[i++]; top->v_bpw = c[i++]; top->v_opw = c[i++];
  // the driver's products of registers (ohq_ports.svh)
  top->cstep = c[i++]; top->rstep = c[i++]; top->in_hw = c[i++]; top->gin = c[i++];
  top->rband = c[i++]; top->rband_w = c[i++]; top->pad_w = c[i++]; top->out_hw = c[i++];
  top->band_pix = c[i++]; top->last_hi = c[i++]; top->last_hiw = c[i++];
  top->v_siw = c[i++]; top->v_diw = c[i++]; top->v_piw = c[i++]; top->v_ihw = c[i++]; top->v_ohw = c[i++];
  auto t0 = std::chrono::steady_clock::now();
  top->rst = 1; top->start = 0;
  for (int k = 0; k < 4; k++) { top->clk = 0; top->eval(); top->clk = 1; top->eval(); }
  top->rst = 0; top->start = 1;
  int64_t cyc = 0;
  bool started = false;
  while (cyc < max_cycles) {
    top->clk = 0; top->eval(); top->clk = 1; top->eval();
    cyc++;
    if (!started) { top->start = 0; started = true; }
    if (top->done) break;
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  if (!top->done) { fprintf(stderr, "error: the layer did not finish within %lld cycles\n", (long long)max_cycles); return 3; }
  FILE* o = fopen(argv[2], "wb");
  int64_t head[7] = {(int64_t)top->cnt_compute, (int64_t)top->cnt_transfer, (int64_t)top->cnt_writeback,
                     (int64_t)top->cnt_post, cyc, (int64_t)ns, (int64_t)top->cnt_beats};
  fwrite(head, 8, 7, o);
  fwrite(dram.data() + out_word, 8, out_count, o);
  fclose(o);
  top->final();
  return 0;
}
