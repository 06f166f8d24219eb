`include "ohq_ports.svh"
// The post-processing unit: the graph ops between layers, one channel plane at a time.
//   v0 = max or sum over a kh x kw window (dilation, padding skipped) of plane A; a 1x1 window is
//        elementwise (the driver flattens the plane to one row);
//   out = lut ? table[v0] : clamp((m0*v0 + m1*v1 + c0) >>> k, lo, hi), v1 = plane B (residual add).
// This covers residual add (two inputs, dyadic multipliers and one shift), producer→consumer
// rescale, ReLU (m0 = 1, lo = z), max pooling (m0 = 1), average pooling (sum, one dyadic m per
// window count) and any elementwise function as a 2^b-entry table (ReLU6, hardswish, hardsigmoid:
// the integer engine's QLut). Codes travel in power-of-two containers a_bits/b_bits/o_bits
// (2..16, registers); the lanes that run per cycle are one input word's worth, 64/a_bits (at most
// VL, and at most 32/gcd(stride, 32) so strided lanes hit distinct banks): the throughput depends
// on word width. Planes are word-aligned in DRAM; the DMA is one engine, word-granular.
// Arithmetic is as wide as the integer engine's values get (AW, MW below), not 64 x 64 bits.
// Only data is multiplied: window and pixel addresses are counters stepped by the registers and
// the driver's products of them (v_siw = stride·iw, v_diw = dil·iw, v_piw = pad·iw, v_ihw, v_ohw).
// Buffers: A, B and O planes in 32 banks (element e in bank e mod 32) of simple-dual-port RAM,
// read synchronously with the next cycle's state; the table is copied per lane (distributed RAM).
// Counters: transfer (DRAM->buffer), postprocess (window cycles + one finalize per lane group),
// writeback (buffer->DRAM); compute stays 0.
module ohq_vec #(
    parameter int FMAX = 4096,
    parameter int VL = 16
) (
    input  logic clk, rst, start,
    `OHQ_VEC_REGS,
    output logic done,
    `OHQ_COUNTERS,
    `OHQ_MEM_PORT
);
  localparam int NB = 32, FR = (FMAX + NB - 1) / NB, FRW = FR > 1 ? $clog2(FR) : 1;
  // widths the integer engine's values need: a window sums at most FMAX 16-bit codes (AW bits,
  // signed), dyadic multipliers have at most 31 bits (|m| <= 2^31: 33 bits signed; the driver
  // checks), the constant and the sum before the shift take 64; EW: signed output element index
  localparam int AW = $clog2(FMAX) + 17, MW = 33, EW = $clog2(FMAX) + 4;

  typedef enum logic [3:0] {S_IDLE, S_TJOB, S_TWAIT, S_AJOB, S_AWAIT, S_BJOB, S_BWAIT, S_WIN,
                            S_FIN, S_OJOB, S_OWAIT, S_DONE} state_t;
  state_t st;
  logic [31:0] ch, oy, ox0, ky, kx, nlanes, p0;
  logic [31:0] n_oy, n_ox0, n_ky, n_kx, n_p0;
  // the same indices times their steps: oys = oy·stride, kyd = ky·dil, oxs = ox0·stride,
  // kxd = kx·dil, oysw = oy·stride·iw, kydw = ky·dil·iw, oyow = oy·ow; nls = nlanes·stride
  logic [31:0] oys, kyd, oxs, kxd, oysw, kydw, oyow, nls;
  logic [31:0] n_oys, n_kyd, n_oxs, n_kxd, n_oysw, n_kydw, n_oyow;
  logic [31:0] aword, bword, oword;  // the planes of channel ch: v_aw + ch·v_apw, ...
  logic signed [AW-1:0] acc [VL];

  function automatic logic [2:0] lg_of(input logic [31:0] bits);  // container bits -> log2
    case (bits)
      32'd2: lg_of = 1; 32'd4: lg_of = 2; 32'd16: lg_of = 4; default: lg_of = 3;
    endcase
  endfunction
  wire [2:0] lga = lg_of(v_abits), lgo = lg_of(v_obits);

  // ---- DMA: d_tgt 0 table, 1 A, 2 B, 3 write O ----
  logic d_start, d_busy, d_we;
  logic [1:0] d_tgt;
  logic [2:0] d_lg;                            // log2 of the element bits
  logic [31:0] d_word, d_words, d_issued, d_recv, d_n;

  assign m_req = d_busy && d_issued < d_words;
  assign m_we = d_we;
  assign m_addr = d_word + d_issued;
  wire rx = !d_start && d_busy && !d_we && m_rvalid;

  // a received word: elements rbase .. rbase + 64/W - 1 (aligned), element e in bank e mod 32
  wire [31:0] rbase = d_recv << (6 - d_lg);
  logic [NB-1:0] in_we;
  logic [NB*16-1:0] in_wd;
  always_comb
    for (int b = 0; b < NB; b++) begin
      logic [31:0] e;
      e = {rbase[31:5], 5'(b)};
      in_we[b] = rx && (5'(b) >> (6 - d_lg)) == (rbase[4:0] >> (6 - d_lg)) && e < d_n;
      case (d_lg)
        3'd1: in_wd[b*16 +: 16] = 16'(m_rdata[2 * (b % 32) +: 2]);
        3'd2: in_wd[b*16 +: 16] = 16'(m_rdata[4 * (b % 16) +: 4]);
        3'd3: in_wd[b*16 +: 16] = 16'(m_rdata[8 * (b % 8) +: 8]);
        default: in_wd[b*16 +: 16] = m_rdata[16 * (b % 4) +: 16];
      endcase
    end

  // ---- lane addresses of the next cycle: window element of A, pixel of B and O ----
  logic signed [31:0] n_iy, n_ixb, n_iyw;
  logic [31:0] ra [VL], rb [VL];
  logic [VL-1:0] va, vb;
  logic [31:0] lxs [VL+1];   // l·stride, a chain of adders
  assign n_iy = $signed(n_oys) - $signed(v_pad) + $signed(n_kyd);
  assign n_ixb = $signed(n_oxs) - $signed(v_pad) + $signed(n_kxd);
  assign n_iyw = $signed(n_oysw) - $signed(v_piw) + $signed(n_kydw);  // n_iy·iw
  always_comb begin
    lxs[0] = 0;
    for (int l = 1; l <= VL; l++) lxs[l] = lxs[l-1] + v_stride;
  end
  always_comb
    for (int l = 0; l < VL; l++) begin
      logic signed [31:0] ix;
      ix = n_ixb + $signed(lxs[l]);
      ra[l] = 32'(n_iyw + ix);
      va[l] = 32'(l) < nlanes && n_iy >= 0 && n_iy < $signed(v_ih) && ix >= 0 && ix < $signed(v_iw);
      rb[l] = n_p0 + 32'(l);
      vb[l] = 32'(l) < nlanes;
    end

  // ---- A and B: written by the DMA, read by the lanes (each bank serves the lane that hits it) ----
  logic [15:0] aq [NB], bq [NB];
  logic [VL-1:0] va_r;
  logic [4:0] ab_r [VL], bb_r [VL];
  always_ff @(posedge clk) begin
    va_r <= va;
    for (int l = 0; l < VL; l++) begin ab_r[l] <= ra[l][4:0]; bb_r[l] <= rb[l][4:0]; end
  end
  genvar gb, gl, gt;
  generate
    for (gb = 0; gb < NB; gb++) begin : g_in
      logic [FRW-1:0] arow, brow;
      always_comb begin
        arow = '0; brow = '0;
        for (int l = 0; l < VL; l++) begin
          if (va[l] && ra[l][4:0] == 5'(gb)) arow = arow | ra[l][5 +: FRW];
          if (vb[l] && rb[l][4:0] == 5'(gb)) brow = brow | rb[l][5 +: FRW];
        end
      end
      ohq_ram #(.W(16), .D(FR), .BLOCK(1)) ram_a (
          .clk, .we(in_we[gb] && d_tgt == 1), .wa(rbase[5 +: FRW]), .ra(arow),
          .wd(in_wd[gb*16 +: 16]), .q(aq[gb]));
      ohq_ram #(.W(16), .D(FR), .BLOCK(1)) ram_b (
          .clk, .we(in_we[gb] && d_tgt == 2), .wa(rbase[5 +: FRW]), .ra(brow),
          .wd(in_wd[gb*16 +: 16]), .q(bq[gb]));
    end
  endgenerate

  // ---- the table, one copy per lane: 4 banks of 64 entries (one DMA word = 4 entries) ----
  logic [15:0] tq [VL];
  generate
    for (gl = 0; gl < VL; gl++) begin : g_tbl
      logic [15:0] tb [4];
      for (gt = 0; gt < 4; gt++) begin : g_tbank
        logic [15:0] m [64];
        always_ff @(posedge clk)
          if (rx && d_tgt == 0 && {d_recv[5:0], 2'(gt)} < d_n) m[d_recv[5:0]] <= m_rdata[16*gt +: 16];
        assign tb[gt] = m[acc[gl][7:2]];
      end
      assign tq[gl] = tb[acc[gl][1:0]];
    end
  endgenerate

  function automatic logic [15:0] finalize(input logic signed [AW-1:0] v0, input logic [15:0] v1,
                                           input logic [15:0] t);
    logic signed [63:0] y;
    y = $signed(v_m0[MW-1:0]) * v0 + $signed(v_c0)
        + ((v_two != 0) ? $signed(v_m1[MW-1:0]) * $signed({1'b0, v1}) : 64'sd0);
    y = y >>> v_shift[5:0];
    if (y < $signed({32'd0, v_lo})) y = $signed({32'd0, v_lo});
    if (y > $signed({32'd0, v_hi})) y = $signed({32'd0, v_hi});
    finalize = (v_lut != 0) ? t : y[15:0];
  endfunction
  logic [15:0] fin [VL];
  always_comb
    for (int l = 0; l < VL; l++) fin[l] = finalize(acc[l], bq[bb_r[l]], tq[l]);

  // ---- O: written by the lanes at p0 + l (bank b takes lane (b - p0) mod 32), read a word at a time ----
  logic [NB*16-1:0] oq;  // bank b's read word: oq[b*16 +: 16]
  wire [31:0] n_issued = d_start ? 0 : (d_busy && m_gnt) ? d_issued + 1 : d_issued;
  wire [31:0] obase = d_issued << (6 - lgo), n_obase = n_issued << (6 - lgo);
  generate
    for (gb = 0; gb < NB; gb++) begin : g_out
      logic [4:0] l;
      logic [31:0] e;
      assign l = 5'(gb) - p0[4:0];
      assign e = p0 + 32'(l);
      ohq_ram #(.W(16), .D(FR), .BLOCK(1)) ram_o (
          .clk, .we(st == S_FIN && 32'(l) < nlanes && ox0 + 32'(l) < v_ow), .wa(e[5 +: FRW]),
          .ra(n_obase[5 +: FRW]), .wd(fin[l % VL]), .q(oq[gb*16 +: 16]));
    end
  endgenerate
  ohq_pack #(.W(16), .LGMAX(4), .EW(EW)) pack (
      .q(oq), .e0($signed(EW'(obase))), .n(d_n), .lg(lgo), .wdata(m_wdata), .wmask(m_wmask));

  always_ff @(posedge clk) begin
    if (rst) d_busy <= 0;
    else if (d_start) begin
      d_busy <= 1; d_issued <= 0; d_recv <= 0;
    end else if (d_busy) begin
      if (m_gnt) d_issued <= d_issued + 1;
      if (d_we) begin
        if (m_gnt && d_issued + 1 == d_words) d_busy <= 0;
      end else if (m_rvalid) begin
        d_recv <= d_recv + 1;
        if (d_recv + 1 == d_words) d_busy <= 0;
      end
    end
  end

  // ---- next window / pixel state (the registers take it every cycle) ----
  always_comb begin
    n_oy = oy; n_ox0 = ox0; n_ky = ky; n_kx = kx;
    n_oys = oys; n_kyd = kyd; n_oxs = oxs; n_kxd = kxd; n_oysw = oysw; n_kydw = kydw; n_oyow = oyow;
    case (st)
      S_IDLE: if (start) begin
        n_oy = 0; n_ox0 = 0; n_ky = 0; n_kx = 0;
        n_oys = 0; n_kyd = 0; n_oxs = 0; n_kxd = 0; n_oysw = 0; n_kydw = 0; n_oyow = 0;
      end
      S_WIN: if (kx + 1 == v_kw) begin
        n_kx = 0; n_kxd = 0;
        if (ky + 1 == v_kh) begin n_ky = 0; n_kyd = 0; n_kydw = 0; end
        else begin n_ky = ky + 1; n_kyd = kyd + v_dil; n_kydw = kydw + v_diw; end
      end else begin n_kx = kx + 1; n_kxd = kxd + v_dil; end
      S_FIN: if (ox0 + nlanes >= v_ow) begin
        n_ox0 = 0; n_oxs = 0;
        if (oy + 1 == v_oh) begin n_oy = 0; n_oys = 0; n_oysw = 0; n_oyow = 0; end
        else begin n_oy = oy + 1; n_oys = oys + v_stride; n_oysw = oysw + v_siw; n_oyow = oyow + v_ow; end
      end else begin n_ox0 = ox0 + nlanes; n_oxs = oxs + nls; end
      default: ;
    endcase
    n_p0 = n_oyow + n_ox0;  // n_oy·ow + n_ox0
  end

  always_ff @(posedge clk) begin
    d_start <= 0;
    oy <= n_oy; ox0 <= n_ox0; ky <= n_ky; kx <= n_kx; p0 <= n_p0;
    oys <= n_oys; kyd <= n_kyd; oxs <= n_oxs; kxd <= n_kxd; oysw <= n_oysw; kydw <= n_kydw;
    oyow <= n_oyow;
    if (rst) begin
      st <= S_IDLE; done <= 0;
    end else begin
      case (st)
        S_TJOB, S_TWAIT, S_AJOB, S_AWAIT, S_BJOB, S_BWAIT: cnt_transfer <= cnt_transfer + 1;
        S_WIN, S_FIN: cnt_post <= cnt_post + 1;
        S_OJOB, S_OWAIT: cnt_writeback <= cnt_writeback + 1;
        default: ;
      endcase
      case (st)
        S_IDLE: if (start) begin
          logic [31:0] nl, ns;
          cnt_compute <= 0; cnt_transfer <= 0; cnt_writeback <= 0; cnt_post <= 0;
          done <= 0; ch <= 0;
          aword <= v_aw; bword <= v_bw; oword <= v_ow0;
          // nl lanes, ns = nl·stride: powers of two (shifts) or VL (the chain's end)
          if ((32'd64 >> lga) < VL) begin nl = 32'd64 >> lga; ns = v_stride << (6 - lga); end
          else begin nl = VL; ns = lxs[VL]; end
          for (int t = 1; t <= 5; t++)   // strided lanes must hit distinct banks
            if ((v_stride & ((32'd1 << t) - 1)) == 0 && (32'd32 >> t) < nl) begin
              nl = 32'd32 >> t; ns = v_stride << (5 - t);
            end
          nlanes <= nl; nls <= ns;
          st <= (v_lut != 0) ? S_TJOB : S_AJOB;
        end
        S_TJOB: begin  // the table: 2^a_bits entries of 16 bits
          d_tgt <= 0; d_we <= 0; d_lg <= 4; d_word <= v_tw;
          d_n <= 32'd1 << v_abits; d_words <= ((32'd1 << v_abits) + 3) >> 2;
          d_start <= 1; st <= S_TWAIT;
        end
        S_TWAIT: if (!d_start && !d_busy) st <= S_AJOB;
        S_AJOB: begin
          d_tgt <= 1; d_we <= 0; d_lg <= lga; d_word <= aword;
          d_n <= v_ihw; d_words <= v_apw;
          d_start <= 1; st <= S_AWAIT;
        end
        S_AWAIT: if (!d_start && !d_busy) st <= (v_two != 0) ? S_BJOB : S_WIN;
        S_BJOB: begin
          d_tgt <= 2; d_we <= 0; d_lg <= lg_of(v_bbits); d_word <= bword;
          d_n <= v_ihw; d_words <= v_bpw;
          d_start <= 1; st <= S_BWAIT;
        end
        S_BWAIT: if (!d_start && !d_busy) st <= S_WIN;
        S_WIN: begin  // window element (ky, kx) of nlanes output pixels of row oy
          for (int l = 0; l < VL; l++) begin
            logic signed [AW-1:0] v, a;
            v = $signed(AW'(aq[ab_r[l]]));
            a = (ky == 0 && kx == 0) ? '0 : acc[l];
            if (va_r[l]) a = (v_pool != 0) ? ((v > a) ? v : a) : a + v;
            acc[l] <= a;
          end
          if (kx + 1 == v_kw && ky + 1 == v_kh) st <= S_FIN;
        end
        S_FIN: begin  // (the O banks take fin[] at p0 ..)
          if (ox0 + nlanes >= v_ow) st <= (oy + 1 == v_oh) ? S_OJOB : S_WIN;
          else st <= S_WIN;
        end
        S_OJOB: begin
          d_tgt <= 3; d_we <= 1; d_word <= oword;
          d_n <= v_ohw; d_words <= v_opw;
          d_start <= 1; st <= S_OWAIT;
        end
        S_OWAIT: if (!d_start && !d_busy) begin
          if (ch + 1 == v_c) st <= S_DONE;
          else begin
            ch <= ch + 1; aword <= aword + v_apw; bword <= bword + v_bpw; oword <= oword + v_opw;
            st <= S_AJOB;
          end
        end
        S_DONE: begin done <= 1; st <= S_IDLE; end
        default: st <= S_IDLE;
      endcase
    end
  end
endmodule
