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
module ohq_core #(
    parameter int L = 16,
    parameter int MODE = 0,
    parameter int WB = 8,
    parameter int WC = 8,        // weight container bits in DRAM (2, 4 or 8)
    parameter int AB = 8,
    parameter int M1 = 2,
    parameter int M2 = 1,
    parameter int FMAX = 4096,
    parameter int KMAX = 1024,
    parameter int PMAX = 1024
) (
    input  logic clk, rst, start,
    input  logic [31:0] cin_g, in_h, in_w, cout_g, groups, kh, kw, stride, pad,
    input  logic [31:0] out_h, out_w, band_oh, frows, kdim, zin, lo, hi, shift_k, acc_mode, out_bits,
    input  logic [47:0] in_bit, out_bit,
    input  logic [31:0] w_word,
    output logic done,
    output logic [63:0] cnt_compute, cnt_transfer, cnt_writeback, cnt_post,
    output logic m_req, m_we,
    output logic [31:0] m_addr,
    output logic [63:0] m_wdata, m_wmask,
    input  logic m_gnt, m_rvalid,
    input  logic [63:0] m_rdata
);
  localparam int EPWF = 64 / AB;
  localparam int EPWW = 64 / WC;
  localparam int PP = 64 / AB;

  // ---- buffers ----
  logic [AB-1:0] fbuf [FMAX];
  logic [WB-1:0] wbuf [4*KMAX];          // (bank*2 + ch)*KMAX + k
  logic [31:0] offc [KMAX];
  logic [3:0] tky [KMAX], tkx [KMAX];
  logic signed [31:0] abuf [2*PMAX], obuf [2*PMAX];
  logic signed [63:0] pm [4], pc [4];
  logic signed [31:0] pb [4];

  // ---- layer state ----
  typedef enum logic [3:0] {S_IDLE, S_GEN, S_FJOB, S_FWAIT, S_WJOB, S_WWAIT, S_COMP, S_POST,
                            S_PFWAIT, S_OJOB, S_OWAIT, S_NEXT, S_DONE} state_t;
  state_t st;
  logic [31:0] g, oy0, boh, npix, fc, pair, nch, bank, kw_words, rec_words;
  logic [31:0] gc, gky, gkx, gk;             // address-table generator
  logic [31:0] p, py, px, kbase, rowbase, pp_e, pp_ch, och;
  logic signed [31:0] iy0, ix0, r0;
  logic signed [31:0] acc0, acc1;
  logic pf_busy, pf_done, whole;
  logic [31:0] nkc, kc;

  // ---- DMA engine ----
  logic d_start, d_busy, d_we;
  logic [1:0] d_tgt;                          // 0 feature, 1 weights
  logic [47:0] d_bit;
  logic [31:0] d_n, d_dst, d_words, d_issued, d_recv, d_nrec, d_bank, d_ch;
  logic [31:0] d_rec, d_wi;
  logic [5:0] d_off_e;                        // first element's slot in its word

  wire [31:0] ob = out_bits;  // 4, 8 (requantized codes) or 32 (accumulators)
  wire [63:0] omask = (ob == 32) ? 64'hffff_ffff : ((64'd1 << ob) - 1);

  assign m_req = d_busy && d_issued < d_words;
  assign m_we = d_we;
  assign m_addr = 32'(d_bit >> 6) + d_issued;

  // output word packing for a write job
  always_comb begin
    m_wdata = '0;
    m_wmask = '0;
    for (int s = 0; s < 16; s++) begin
      longint e;
      e = longint'(d_issued) * (64 / ob) + s - longint'(d_off_e);
      if (s < 64 / ob && e >= 0 && e < longint'(d_n)) begin
        m_wdata = m_wdata | ((64'(obuf[d_ch*PMAX + 32'(e)]) & omask) << (s * ob));
        m_wmask = m_wmask | (omask << (s * ob));
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      d_busy <= 0;
    end else if (d_start) begin
      d_busy <= 1;
      d_issued <= 0;
      d_recv <= 0;
      d_rec <= 0;
      d_wi <= 0;
    end else if (d_busy) begin
      if (m_gnt) d_issued <= d_issued + 1;
      if (d_we) begin
        if (m_gnt && d_issued + 1 == d_words) d_busy <= 0;
      end else begin
        if (m_rvalid) begin
          d_recv <= d_recv + 1;
          if (d_tgt == 0) begin
            for (int s = 0; s < EPWF; s++) begin
              longint e;
              e = longint'(d_recv) * EPWF + s - longint'(d_off_e);
              if (e >= 0 && e < longint'(d_n)) fbuf[d_dst + 32'(e)] <= m_rdata[s*AB +: AB];
            end
          end else begin
            if (d_wi == 0) pm[d_bank*2 + d_rec] <= $signed(m_rdata);
            if (d_wi == 1) pc[d_bank*2 + d_rec] <= $signed(m_rdata);
            if (d_wi == 2) pb[d_bank*2 + d_rec] <= $signed(m_rdata[31:0]);
            if (d_wi >= 4) begin
              for (int s = 0; s < EPWW; s++) begin
                logic [31:0] k;
                k = (d_wi - 4) * EPWW + s;
                if (k < kdim) wbuf[(d_bank*2 + d_rec)*KMAX + k] <= m_rdata[s*WC +: WB];
              end
            end
            if (d_wi + 1 == rec_words) begin
              d_wi <= 0;
              d_rec <= d_rec + 1;
            end else d_wi <= d_wi + 1;
          end
          if (d_recv + 1 == d_words) d_busy <= 0;
        end
      end
    end
  end

  // ---- the lanes and the tree ----
  logic signed [31:0] lp0 [L], lp1 [L];
  logic signed [31:0] sum0, sum1;
  genvar li;
  generate
    for (li = 0; li < L; li++) begin : g_lane
      logic [31:0] k, addr;
      logic signed [31:0] iy, ix;
      logic inb, vk;
      logic signed [AB:0] xv;
      logic [WB-1:0] w0, w1;
      assign k = kbase + li;
      assign vk = k < kdim;
      assign iy = iy0 + $signed({28'd0, tky[k[$clog2(KMAX)-1:0]]});
      assign ix = ix0 + $signed({28'd0, tkx[k[$clog2(KMAX)-1:0]]});
      assign inb = vk && iy >= 0 && iy < $signed(in_h) && ix >= 0 && ix < $signed(in_w);
      assign addr = offc[k[$clog2(KMAX)-1:0]] + rowbase + 32'(ix);
      assign xv = inb ? ($signed({1'b0, fbuf[addr[$clog2(FMAX)-1:0]]}) - $signed(zin[AB:0])) : '0;
      assign w0 = vk ? wbuf[(bank*2)*KMAX + k] : '0;
      assign w1 = (vk && nch == 2) ? wbuf[(bank*2 + 1)*KMAX + k] : '0;
      ohq_pe #(.MODE(MODE), .WB(WB), .AB(AB), .M1(M1), .M2(M2)) pe (
          .w0(w0), .w1(w1), .x(xv), .p0(lp0[li]), .p1(lp1[li]));
    end
  endgenerate
  always_comb begin
    sum0 = 0;
    sum1 = 0;
    for (int i = 0; i < L; i++) begin
      sum0 = sum0 + lp0[i];
      sum1 = sum1 + lp1[i];
    end
  end

  // ---- post-process lanes ----
  function automatic logic signed [31:0] requant(input logic signed [31:0] a, input logic [1:0] slot);
    logic signed [63:0] v, a64;
    a64 = {{32{a[31]}}, a};
    v = a64 * pm[slot] + pc[slot];
    v = v >>> shift_k[5:0];
    if (v < $signed({32'd0, lo})) v = $signed({32'd0, lo});
    if (v > $signed({32'd0, hi})) v = $signed({32'd0, hi});
    requant = acc_mode[0] ? a + pb[slot] : v[31:0];
  endfunction

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
          kw_words <= (kdim * WC + 63) / 64;
          rec_words <= 4 + (kdim * WC + 63) / 64;
          nkc <= (kdim + L - 1) / L;
          pf_busy <= 0;
          st <= S_GEN;
        end
        S_GEN: begin  // Img2Col address table, one entry per cycle
          offc[gk[$clog2(KMAX)-1:0]] <= gc * frows * in_w + gky * in_w;
          tky[gk[$clog2(KMAX)-1:0]] <= gky[3:0];
          tkx[gk[$clog2(KMAX)-1:0]] <= gkx[3:0];
          gk <= gk + 1;
          if (gkx + 1 == kw) begin
            gkx <= 0;
            if (gky + 1 == kh) begin gky <= 0; gc <= gc + 1; end else gky <= gky + 1;
          end else gkx <= gkx + 1;
          if (gk + 1 == kdim) begin
            st <= S_FJOB; fc <= 0;
            boh <= (band_oh < out_h) ? band_oh : out_h;
            r0 <= -$signed(pad);
          end
        end
        S_FJOB: begin  // one DMA per input channel of the group: its rows of this band
          logic signed [31:0] lo_r, hi_r;
          lo_r = r0 < 0 ? 0 : r0;
          hi_r = r0 + $signed((boh - 1) * stride + kh);
          if (hi_r > $signed(in_h)) hi_r = $signed(in_h);
          d_tgt <= 0; d_we <= 0;
          d_bit <= in_bit + 48'((((g * cin_g + fc) * in_h + 32'(lo_r)) * in_w)) * AB;
          d_n <= 32'(hi_r - lo_r) * in_w;
          d_off_e <= 6'((in_bit + 48'((((g * cin_g + fc) * in_h + 32'(lo_r)) * in_w)) * AB) % 64 / AB);
          d_words <= 32'((((in_bit + 48'((((g * cin_g + fc) * in_h + 32'(lo_r)) * in_w)) * AB) % 64)
                     + 48'(32'(hi_r - lo_r) * in_w * AB) + 63) / 64);
          d_dst <= fc * frows * in_w + 32'(lo_r - r0) * in_w;
          whole <= 0;
          if (r0 == 0 && hi_r == $signed(in_h) && frows == in_h && fc == 0) begin
            // the band is the whole map and channels lie back to back: one DMA for the group
            d_n <= cin_g * in_h * in_w;
            d_words <= 32'((((in_bit + 48'(g * cin_g * in_h * in_w) * AB) % 64)
                       + 48'(cin_g * in_h * in_w * AB) + 63) / 64);
            whole <= 1;
          end
          d_start <= 1;
          st <= S_FWAIT;
        end
        S_FWAIT: if (!d_start && !d_busy) begin
          if (fc + 1 == cin_g || whole) begin
            fc <= 0; pair <= 0; npix <= boh * out_w;
            st <= S_WJOB;
          end else begin
            fc <= fc + 1; st <= S_FJOB;
          end
        end
        S_WJOB: begin
          nch <= (pair + 2 <= cout_g) ? 2 : 1;
          if (pf_busy) begin
            st <= S_WWAIT;  // the prefetch started during the last compute brings this pair
          end else begin
            d_tgt <= 1; d_we <= 0; d_bank <= bank;
            d_bit <= 48'(w_word + (g * cout_g + pair) * rec_words) * 64;
            d_off_e <= 0;
            d_words <= ((pair + 2 <= cout_g) ? 2 : 1) * rec_words;
            d_start <= 1;
            st <= S_WWAIT;
          end
        end
        S_WWAIT: if (!d_start && !d_busy) begin
          pf_busy <= 0;
          st <= S_COMP;
          p <= 0; py <= 0; px <= 0; kbase <= 0; kc <= 0;
          rowbase <= 0; iy0 <= r0; ix0 <= -$signed(pad);
          acc0 <= 0; acc1 <= 0;
          if (pair + 2 < cout_g) begin  // prefetch the next pair into the other bank
            d_tgt <= 1; d_we <= 0; d_bank <= bank ^ 1;
            d_bit <= 48'(w_word + (g * cout_g + pair + 2) * rec_words) * 64;
            d_off_e <= 0;
            d_words <= ((pair + 4 <= cout_g) ? 2 : 1) * rec_words;
            d_start <= 1;
            pf_busy <= 1;
          end
        end
        S_COMP: begin
          if (kc + 1 == nkc) begin
            abuf[p] <= acc0 + sum0;
            abuf[PMAX + p] <= acc1 + sum1;
            acc0 <= 0; acc1 <= 0; kc <= 0; kbase <= 0;
            if (p + 1 == npix) begin
              st <= S_POST; pp_e <= 0; pp_ch <= 0;
            end
            p <= p + 1;
            if (px + 1 == out_w) begin
              px <= 0; py <= py + 1;
              rowbase <= rowbase + stride * in_w;
              iy0 <= iy0 + $signed(stride);
              ix0 <= -$signed(pad);
            end else begin
              px <= px + 1;
              ix0 <= ix0 + $signed(stride);
            end
          end else begin
            acc0 <= acc0 + sum0; acc1 <= acc1 + sum1;
            kc <= kc + 1; kbase <= kbase + L;
          end
        end
        S_POST: begin
          for (int i = 0; i < PP; i++) begin
            if (pp_e + i < npix)
              obuf[pp_ch*PMAX + pp_e + i] <= requant(abuf[pp_ch*PMAX + pp_e + i], 2'(bank*2 + pp_ch));
          end
          if (pp_e + PP >= npix) begin
            pp_e <= 0;
            if (pp_ch + 1 == nch) begin st <= S_PFWAIT; och <= 0; end
            else pp_ch <= pp_ch + 1;
          end else pp_e <= pp_e + PP;
        end
        S_PFWAIT: if (!d_start && !d_busy) st <= S_OJOB;  // the engine is shared with the prefetch
        S_OJOB: begin
          d_tgt <= 2; d_we <= 1; d_ch <= och;
          d_bit <= out_bit + 48'(((g * cout_g + pair + och) * out_h + oy0) * out_w) * ob;
          d_n <= npix;
          d_off_e <= 6'((out_bit + 48'(((g * cout_g + pair + och) * out_h + oy0) * out_w) * ob) % 64 / ob);
          d_words <= 32'((((out_bit + 48'(((g * cout_g + pair + och) * out_h + oy0) * out_w) * ob) % 64)
                     + 48'(npix * ob) + 63) / 64);
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
            pair <= pair + 2; st <= S_WJOB;
          end else if (oy0 + boh < out_h) begin
            oy0 <= oy0 + boh; r0 <= r0 + $signed(boh * stride);
            boh <= (oy0 + 2 * boh <= out_h) ? boh : out_h - oy0 - boh;
            fc <= 0; st <= S_FJOB;
          end else if (g + 1 < groups) begin
            g <= g + 1; oy0 <= 0; r0 <= -$signed(pad);
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
