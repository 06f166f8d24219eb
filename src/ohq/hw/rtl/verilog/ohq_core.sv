`include "ohq_ports.svh"
// The OHQ layer engine: one conv/linear layer (groups, stride, padding; linear = 1x1 conv on a
// 1x1 map) on integer codes, the OHQ paper appendix B as RTL.
//  - Img2Col: an address table (OFFC/KY/KX, built by a counter at layer start, K cycles) maps GEMM
//    index k to a feature-buffer offset; L lanes gather k..k+L-1 of one output pixel per cycle,
//    padding by bounds check. The feature buffer holds one band of input rows of one group.
//  - multiply-add tree: L lanes x 2 output channels (ohq_pe), summed in one tree per channel.
//  - weights double-buffered: the next channel pair's record is fetched during compute.
//  - post-process: PP = 64/AB lanes (one bus word of outputs per cycle): (acc*m + c) >>> k,
//    clamp [lo, hi] (ReLU: lo = z_out), or acc + bias (32-bit) for a layer feeding the output.
//  - DMA: one engine, word-granular, against the memory port (DRAM model in the testbench).
//  - four cycle counters: compute (address table + tree), transfer (DDR->buffer waits),
//    writeback (buffer->DDR), postprocess.
//  - no address products: addresses are counters stepped by driver-precomputed registers.
module ohq_core #(
    parameter int L = 16, MODE = 0, WB = 8,
    parameter int WC = 8,        // weight container bits in DRAM (2, 4 or 8)
    parameter int AB = 8, M1 = 2, M2 = 1, FMAX = 4096, KMAX = 1024, PMAX = 1024
) (
    input  logic clk, rst, start,
    `OHQ_CORE_REGS,
    output logic done,
    `OHQ_COUNTERS,
    `OHQ_MEM_PORT
);
  localparam int EPWF = 64 / AB;           // AB, WC: container bits, powers of two
  localparam int LGA = $clog2(AB), LGF = $clog2(EPWF), LGW = $clog2(WC);
  localparam int PP = 64 / AB, LGP = $clog2(PP);
  localparam int KR = (KMAX + L - 1) / L, KRW = KR > 1 ? $clog2(KR) : 1;   // tree passes
  localparam int PW = (L * WC + 63) / 64;  // 64-bit words of weight codes per pass
  localparam int SUB = (64 % (L * WC) == 0) ? 64 / (L * WC) : 1;  // passes per word (L*WC < 64)
  localparam int LGS = SUB > 1 ? $clog2(SUB) : 1;
  localparam int FR = (FMAX + EPWF - 1) / EPWF, FRW = FR > 1 ? $clog2(FR) : 1;
  localparam int PR = (PMAX + PP - 1) / PP, PRW = PR > 1 ? $clog2(PR) : 1;

  // dyadic m in 33 signed bits (ohq.quant.dyadic keeps |m| <= 2^31; the driver checks): a 32 x 33
  // product is 4 DSP48E1 per post-process lane, a 32 x 64 one 7
  localparam int MW = 33;
  logic signed [MW-1:0] pm [4];
  logic signed [63:0] pc [4];
  logic signed [31:0] pb [4];

  // ---- layer state ----
  typedef enum logic [3:0] {S_IDLE, S_GEN, S_FJOB, S_FWAIT, S_WJOB, S_WWAIT, S_COMP, S_POST,
                            S_PFWAIT, S_OJOB, S_OWAIT, S_NEXT, S_DONE} state_t;
  state_t st;
  logic [31:0] g, oy0, boh, npix, fc, pair, nch, bank, rec_words;
  logic [31:0] gc, gky, gkx, gk, gl, gr, goff_c, goff_y;  // address-table generator
  logic [31:0] p, py, px, kbase, rowbase, pp_e, pp_ch, och;
  logic signed [31:0] iy0, ix0, r0;
  // r0w = r0·in_w, oy0w = oy0·out_w, fcs = fc·cstep; offsets of the group's first input plane
  // and of plane g·cin_g + fc (igrp, ichan), of the group's and the pair's records (wgrp, wrec;
  // ogrp, orec: output elements)
  logic signed [31:0] r0w;  logic [31:0] oy0w, fcs, igrp, ichan, wgrp, wrec, ogrp, orec;
  wire last_band = !(oy0 + boh < out_h);  // the band that ends the map (boh may be short)
  logic signed [31:0] acc0, acc1;
  logic pf_busy, whole;
  logic [31:0] nkc, kc;
  // the next cycle's gather and post-process state: the buffers' read addresses
  logic [31:0] n_kc, n_kbase, n_rowbase, n_pp_e, n_pp_ch;
  logic signed [31:0] n_iy0, n_ix0;

  // ---- DMA engine ----
  logic d_start, d_busy, d_we;
  logic [1:0] d_tgt;                          // 0 feature, 1 weights, 2 write outputs
  logic [47:0] d_bit;
  logic [31:0] d_n, d_dst, d_words, d_issued, d_recv, d_bank, d_ch;
  logic [31:0] d_rec, d_wi, d_wj, d_wr;       // weight record, word in it, word slot and pass
  logic signed [31:0] d_a0;                   // feature-buffer address of the beat's slot 0
  logic [5:0] d_off_e;                        // first element's slot in its word

  // output container bits: 2, 4, 8 (codes), 16 or 32 (accumulators): shifts, no divisions
  logic [2:0] lgo;
  always_comb
    case (out_bits)
      32'd2: lgo = 1; 32'd4: lgo = 2; 32'd16: lgo = 4; 32'd32: lgo = 5; default: lgo = 3;
    endcase

  assign m_req = d_busy && d_issued < d_words;
  assign m_we = d_we;
  assign m_addr = 32'(d_bit >> 6) + d_issued;
  wire rx = !d_start && d_busy && !d_we && m_rvalid;

  // ---- feature-buffer write: beat slot s goes to bank (d_a0 + s) mod EPWF ----
  logic [EPWF-1:0] f_we;
  logic [EPWF*FRW-1:0] f_row;
  logic [EPWF*AB-1:0] f_wd;
  always_comb
    for (int b = 0; b < EPWF; b++) begin
      logic [LGF-1:0] s;
      logic signed [31:0] a;
      s = LGF'(b) - d_a0[LGF-1:0];
      a = d_a0 + $signed({26'd0, 6'(s)});
      f_we[b] = rx && d_tgt == 0 && a >= $signed(d_dst) && a < $signed(d_dst + d_n);
      f_row[b*FRW +: FRW] = a[LGF +: FRW];
      f_wd[b*AB +: AB] = m_rdata[32'(s) * AB +: AB];
    end

  // ---- weight buffer: per channel, PW banks of 64-bit words, row {bank, pass} ----
  logic [PW*64-1:0] wq [2];
  genvar ci, wj;
  generate
    for (ci = 0; ci < 2; ci++) begin : g_wch
      for (wj = 0; wj < PW; wj++) begin : g_wbank
        ohq_ram #(.W(64), .D(2 << KRW), .BLOCK(1)) ram (
            .clk, .we(rx && d_tgt == 1 && d_wi >= 4 && d_rec == ci && d_wj == wj),
            .wa({d_bank[0], d_wr[KRW-1:0]}), .ra({bank[0], KRW'(n_kc >> (SUB > 1 ? LGS : 0))}),
            .wd(m_rdata), .q(wq[ci][wj*64 +: 64]));
      end
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (rst) begin
      d_busy <= 0;
    end else if (d_start) begin
      d_busy <= 1;
      d_issued <= 0;
      d_recv <= 0;
      d_rec <= 0;
      d_wi <= 0; d_wj <= 0; d_wr <= 0;
      d_a0 <= $signed(d_dst) - $signed({26'd0, d_off_e});
    end else if (d_busy) begin
      if (m_gnt) d_issued <= d_issued + 1;
      if (d_we) begin
        if (m_gnt && d_issued + 1 == d_words) d_busy <= 0;
      end else begin
        if (m_rvalid) begin
          d_recv <= d_recv + 1;
          d_a0 <= d_a0 + EPWF;
          if (d_tgt == 1) begin
            if (d_wi == 0) pm[d_bank*2 + d_rec] <= $signed(m_rdata[MW-1:0]);
            if (d_wi == 1) pc[d_bank*2 + d_rec] <= $signed(m_rdata);
            if (d_wi == 2) pb[d_bank*2 + d_rec] <= $signed(m_rdata[31:0]);
            if (d_wi >= 4) begin
              if (d_wj + 1 == PW) begin d_wj <= 0; d_wr <= d_wr + 1; end else d_wj <= d_wj + 1;
            end
            if (d_wi + 1 == rec_words) begin
              d_wi <= 0; d_wj <= 0; d_wr <= 0;
              d_rec <= d_rec + 1;
            end else d_wi <= d_wi + 1;
          end
          if (d_recv + 1 == d_words) d_busy <= 0;
        end
      end
    end
  end

  // ---- the lanes and the tree (ksel: this cycle's pass within its weight word) ----
  logic [LGS-1:0] ksel;
  always_ff @(posedge clk) ksel <= SUB > 1 ? n_kc[LGS-1:0] : '0;
  logic signed [31:0] lp0 [L], lp1 [L];
  logic signed [31:0] sum0, sum1;
  genvar li;
  generate
    for (li = 0; li < L; li++) begin : g_lane
      ohq_lane #(.LI(li), .L(L), .MODE(MODE), .WB(WB), .AB(AB), .M1(M1), .M2(M2), .FMAX(FMAX), .KR(KR)) lane (
          .clk, .t_we(st == S_GEN), .t_lane(gl), .t_row(gr), .t_off(goff_c + goff_y),
          .t_ky(gky[3:0]), .t_kx(gkx[3:0]), .f_we, .f_row, .f_wd, .n_kc, .n_kbase, .n_rowbase,
          .kdim, .in_h, .in_w, .zin, .n_iy0, .n_ix0,
          .w0(wq[0][32'(ksel) * L * WC + li*WC +: WB]), .w1(wq[1][32'(ksel) * L * WC + li*WC +: WB]),
          .nch2(nch == 2),
          .p0(lp0[li]), .p1(lp1[li]));
    end
  endgenerate
  localparam int TW = `OHQ_TREE_BITS(MODE, WB, AB, M1, L);
  logic signed [TW-1:0] t0, t1;  // the tree at the width its L products need (exact), widened after
  always_comb begin
    t0 = 0;
    t1 = 0;
    for (int i = 0; i < L; i++) begin
      t0 = t0 + TW'(lp0[i]);
      t1 = t1 + TW'(lp1[i]);
    end
    sum0 = t0;  // signed: sign-extends
    sum1 = t1;
  end

  // ---- accumulator buffer: per channel, PP banks (pixel p in bank p mod PP) ----
  logic signed [31:0] aq [2][PP];
  generate
    for (ci = 0; ci < 2; ci++) begin : g_ach
      for (wj = 0; wj < PP; wj++) begin : g_abank
        ohq_ram #(.W(32), .D(PR), .BYPASS(1)) ram (
            .clk, .we(st == S_COMP && kc + 1 == nkc && p[LGP-1:0] == wj), .wa(p[LGP +: PRW]),
            .ra(n_pp_e[LGP +: PRW]), .wd(ci == 0 ? acc0 + sum0 : acc1 + sum1), .q(aq[ci][wj]));
      end
    end
  endgenerate

  // ---- post-process lanes ----
  function automatic logic signed [31:0] requant(input logic signed [31:0] a, input logic [1:0] slot);
    logic signed [63:0] v;
    v = 64'(a * pm[slot]) + pc[slot];
    v = v >>> shift_k[5:0];
    if (v < $signed({32'd0, lo})) v = $signed({32'd0, lo});
    if (v > $signed({32'd0, hi})) v = $signed({32'd0, hi});
    requant = acc_mode[0] ? a + pb[slot] : v[31:0];
  endfunction
  logic [PP*32-1:0] post;
  always_comb
    for (int i = 0; i < PP; i++) post[i*32 +: 32] = requant(pp_ch[0] ? aq[1][i] : aq[0][i], 2'(bank*2 + pp_ch));

  // ---- output buffer and word packer (ohq_obuf) ----
  logic [31:0] n_issued;
  assign n_issued = d_start ? 0 : (d_busy && m_gnt) ? d_issued + 1 : d_issued;
  ohq_obuf #(.PP(PP), .PMAX(PMAX)) obuf (
      .clk, .we(st == S_POST), .pp_e, .pp_ch, .npix, .post, .n_issued, .d_issued, .d_off_e,
      .d_ch, .d_n, .lgo, .m_wdata, .m_wmask);

  // ---- next gather / post-process state (the registers below take it every cycle) ----
  always_comb begin
    n_kc = kc; n_kbase = kbase; n_rowbase = rowbase; n_iy0 = iy0; n_ix0 = ix0;
    n_pp_e = pp_e; n_pp_ch = pp_ch;
    if (st == S_WWAIT && !d_start && !d_busy) begin
      n_kc = 0; n_kbase = 0; n_rowbase = 0; n_iy0 = r0; n_ix0 = -$signed(pad);
    end
    if (st == S_COMP) begin
      if (kc + 1 == nkc) begin
        n_kc = 0; n_kbase = 0;
        if (p + 1 == npix) begin n_pp_e = 0; n_pp_ch = 0; end
        if (px + 1 == out_w) begin
          n_rowbase = rowbase + rstep; n_iy0 = iy0 + $signed(stride); n_ix0 = -$signed(pad);
        end else n_ix0 = ix0 + $signed(stride);
      end else begin
        n_kc = kc + 1; n_kbase = kbase + L;
      end
    end
    if (st == S_POST) begin
      if (pp_e + PP >= npix) begin
        n_pp_e = 0;
        if (pp_ch + 1 != nch) n_pp_ch = pp_ch + 1;
      end else n_pp_e = pp_e + PP;
    end
  end
  always_ff @(posedge clk) begin
    kc <= n_kc; kbase <= n_kbase; rowbase <= n_rowbase; iy0 <= n_iy0; ix0 <= n_ix0;
    pp_e <= n_pp_e; pp_ch <= n_pp_ch;
  end

  // ---- control ----
  always_ff @(posedge clk) begin
    d_start <= 0;
    if (rst) begin
      st <= S_IDLE;
      done <= 0;
    end else begin
      case (st)
        S_GEN, S_COMP: cnt_compute <= cnt_compute + 1;
        S_FJOB, S_FWAIT, S_WJOB, S_WWAIT, S_PFWAIT, S_NEXT: cnt_transfer <= cnt_transfer + 1;
        S_OJOB, S_OWAIT: cnt_writeback <= cnt_writeback + 1;
        S_POST: cnt_post <= cnt_post + 1;
        default: ;
      endcase
      case (st)
        S_IDLE: if (start) begin
          cnt_compute <= 0; cnt_transfer <= 0; cnt_writeback <= 0; cnt_post <= 0;
          done <= 0;
          gc <= 0; gky <= 0; gkx <= 0; gk <= 0;
          g <= 0; oy0 <= 0; bank <= 0;
          gl <= 0; gr <= 0; goff_c <= 0; goff_y <= 0;
          r0w <= -$signed(pad_w); oy0w <= 0; fcs <= 0; igrp <= 0; ichan <= 0;
          wgrp <= 0; wrec <= 0; ogrp <= 0; orec <= 0;
          pf_busy <= 0;
          st <= S_GEN;
        end
        S_GEN: begin  // Img2Col address table, one entry per cycle
          // (the lanes write entry gk = gr*L + gl: offset goff_c + goff_y, ky, kx)
          gk <= gk + 1;
          if (gl + 1 == L) begin gl <= 0; gr <= gr + 1; end else gl <= gl + 1;
          if (gkx + 1 == kw) begin
            gkx <= 0;
            if (gky + 1 == kh) begin
              gky <= 0; gc <= gc + 1; goff_c <= goff_c + cstep; goff_y <= 0;
            end else begin
              gky <= gky + 1; goff_y <= goff_y + in_w;
            end
          end else gkx <= gkx + 1;
          if (gk + 1 == kdim) begin
            nkc <= gr + 1;                 // tree passes: ceil(K / L)
            // header + the codes: pass-padded only where a pass is not whole words
            rec_words <= 4 + (((L * WC) % 64 == 0 || SUB > 1) ? ((kdim << LGW) + 63) >> 6 : (gr + 1) * PW);
            st <= S_FJOB; fc <= 0;
            boh <= (band_oh < out_h) ? band_oh : out_h;
            r0 <= -$signed(pad);
          end
        end
        S_FJOB: begin  // one DMA per input channel of the group: its rows of this band
          // rows [lo_r, hi_r) (lo_w, hi_w: times in_w): frows from r0, the last band to last_hi
          logic signed [31:0] lo_r, hi_r, lo_w, hi_w;
          logic [47:0] bit0;
          lo_r = r0 < 0 ? 0 : r0; lo_w = r0 < 0 ? 0 : r0w;
          hi_r = r0 + $signed(frows); hi_w = r0w + $signed(cstep);
          if (hi_r > $signed(in_h)) begin hi_r = $signed(in_h); hi_w = $signed(in_hw); end
          if (last_band) begin hi_r = $signed(last_hi); hi_w = $signed(last_hiw); end
          d_tgt <= 0; d_we <= 0;
          bit0 = in_bit + (48'(ichan + 32'(lo_w)) << LGA);
          d_bit <= bit0; d_n <= 32'(hi_w - lo_w);
          d_off_e <= 6'(bit0[5:0] >> LGA);
          d_words <= 32'((48'(bit0[5:0]) + (48'(32'(hi_w - lo_w)) << LGA) + 63) >> 6);
          d_dst <= fcs + 32'(lo_w - r0w);
          whole <= 0;
          if (r0 == 0 && hi_r == $signed(in_h) && frows == in_h && fc == 0) begin
            // the band is the whole map and channels lie back to back: one DMA for the group
            d_n <= gin; whole <= 1;
            d_words <= 32'((48'(bit0[5:0]) + (48'(gin) << LGA) + 63) >> 6);
          end
          d_start <= 1;
          st <= S_FWAIT;
        end
        S_FWAIT: if (!d_start && !d_busy) begin
          if (fc + 1 == cin_g || whole) begin
            fc <= 0; fcs <= 0; ichan <= igrp; pair <= 0;
            npix <= last_band ? out_hw - oy0w : band_pix;  // boh * out_w
            st <= S_WJOB;
          end else begin
            fc <= fc + 1; fcs <= fcs + cstep; ichan <= ichan + in_hw; st <= S_FJOB;
          end
        end
        S_WJOB: begin
          nch <= (pair + 2 <= cout_g) ? 2 : 1;
          if (pf_busy) begin
            st <= S_WWAIT;  // the prefetch started during the last compute brings this pair
          end else begin
            d_tgt <= 1; d_we <= 0; d_bank <= bank;
            d_bit <= 48'(w_word + wrec) * 64;
            d_off_e <= 0;
            d_words <= (pair + 2 <= cout_g) ? rec_words << 1 : rec_words;
            d_start <= 1;
            st <= S_WWAIT;
          end
        end
        S_WWAIT: if (!d_start && !d_busy) begin
          pf_busy <= 0;
          st <= S_COMP;
          p <= 0; py <= 0; px <= 0; acc0 <= 0; acc1 <= 0;
          if (pair + 2 < cout_g) begin  // prefetch the next pair into the other bank
            d_tgt <= 1; d_we <= 0; d_bank <= bank ^ 1;
            d_bit <= 48'(w_word + wrec + (rec_words << 1)) * 64;
            d_off_e <= 0;
            d_words <= (pair + 4 <= cout_g) ? rec_words << 1 : rec_words;
            d_start <= 1;
            pf_busy <= 1;
          end
        end
        S_COMP: begin
          if (kc + 1 == nkc) begin
            // (the accumulator banks take acc + sum at pixel p)
            acc0 <= 0; acc1 <= 0;
            if (p + 1 == npix) st <= S_POST;
            p <= p + 1;
            if (px + 1 == out_w) begin px <= 0; py <= py + 1; end else px <= px + 1;
          end else begin
            acc0 <= acc0 + sum0; acc1 <= acc1 + sum1;
          end
        end
        S_POST: begin
          // (the output banks take post[] at pp_e .. pp_e + PP - 1)
          if (pp_e + PP >= npix && pp_ch + 1 == nch) begin st <= S_PFWAIT; och <= 0; end
        end
        S_PFWAIT: if (!d_start && !d_busy) st <= S_OJOB;  // the engine is shared with the prefetch
        S_OJOB: begin
          logic [47:0] bit0;
          bit0 = out_bit + (48'(orec + (och[0] ? out_hw : 0) + oy0w) << lgo);
          d_tgt <= 2; d_we <= 1; d_ch <= och;
          d_bit <= bit0;
          d_n <= npix;
          d_off_e <= 6'(bit0[5:0] >> lgo);
          d_words <= 32'((48'(bit0[5:0]) + (48'(npix) << lgo) + 63) >> 6);
          d_start <= 1;
          st <= S_OWAIT;
        end
        S_OWAIT: if (!d_start && !d_busy) begin
          if (och + 1 == nch) st <= S_NEXT;
          else begin och <= och + 1; st <= S_OJOB; end
        end
        S_NEXT: begin
          bank <= bank ^ 1;
          if (pair + 2 < cout_g) begin
            pair <= pair + 2; wrec <= wrec + (rec_words << 1); orec <= orec + (out_hw << 1);
            st <= S_WJOB;
          end else if (!last_band) begin
            // only the last band is short: this one has band_oh rows (rband = band_oh * stride)
            oy0 <= oy0 + boh; r0 <= r0 + $signed(rband); r0w <= r0w + $signed(rband_w);
            oy0w <= oy0w + band_pix; wrec <= wgrp; orec <= ogrp;
            boh <= (oy0 + 2 * boh <= out_h) ? boh : out_h - oy0 - boh;
            fc <= 0; st <= S_FJOB;
          end else if (g + 1 < groups) begin
            logic [31:0] wn, on;  // the next group's records follow this pair's nch
            wn = wrec + ((nch == 2) ? rec_words << 1 : rec_words);
            on = orec + ((nch == 2) ? out_hw << 1 : out_hw);
            g <= g + 1; oy0 <= 0; r0 <= -$signed(pad); r0w <= -$signed(pad_w); oy0w <= 0;
            wgrp <= wn; wrec <= wn; ogrp <= on; orec <= on;
            igrp <= igrp + gin; ichan <= igrp + gin;
            boh <= (band_oh < out_h) ? band_oh : out_h;
            fc <= 0; st <= S_FJOB;
          end else st <= S_DONE;
        end
        S_DONE: begin done <= 1; st <= S_IDLE; end
        default: st <= S_IDLE;
      endcase
    end
  end
endmodule
