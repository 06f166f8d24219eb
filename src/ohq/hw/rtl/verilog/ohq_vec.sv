// The post-processing unit: the graph ops between layers, one channel plane at a time.
//   v0 = max or sum over a kh x kw window (dilation, padding skipped) of plane A; a 1x1 window is
//        elementwise (the driver flattens the plane to one row);
//   out = lut ? table[v0] : clamp((m0*v0 + m1*v1 + c0) >>> k, lo, hi), v1 = plane B (residual add).
// This covers residual add (two inputs, dyadic multipliers and one shift), producer→consumer
// rescale, ReLU (m0 = 1, lo = z), max pooling (m0 = 1), average pooling (sum, one dyadic m per
// window count) and any elementwise function as a 2^b-entry table (ReLU6, hardswish, hardsigmoid:
// the integer engine's QLut). Codes have runtime widths a_bits/b_bits/o_bits (<= 16); the lanes
// that run per cycle are one input word's worth, 64/a_bits (at most VL): the throughput depends
// on word width. Planes are word-aligned in DRAM; the DMA is one engine, word-granular.
// Counters: transfer (DRAM->buffer), postprocess (window cycles + one finalize per lane group),
// writeback (buffer->DRAM); compute stays 0.
module ohq_vec #(
    parameter int FMAX = 4096,
    parameter int VL = 16
) (
    input  logic clk, rst, start,
    input  logic [31:0] v_c, v_ih, v_iw, v_oh, v_ow, v_kh, v_kw, v_stride, v_pad, v_dil,
    input  logic [31:0] v_pool, v_two, v_lut, v_abits, v_bbits, v_obits, v_shift, v_lo, v_hi,
    input  logic [63:0] v_m0, v_m1, v_c0,
    input  logic [31:0] v_aw, v_bw, v_tw, v_ow0, v_apw, v_bpw, v_opw,
    output logic done,
    output logic [63:0] cnt_compute, cnt_transfer, cnt_writeback, cnt_post,
    output logic m_req, m_we,
    output logic [31:0] m_addr,
    output logic [63:0] m_wdata, m_wmask,
    input  logic m_gnt, m_rvalid,
    input  logic [63:0] m_rdata
);
  logic [15:0] abuf [FMAX], bbuf [FMAX], obuf [FMAX];
  logic [15:0] tbl [256];

  typedef enum logic [3:0] {S_IDLE, S_TJOB, S_TWAIT, S_AJOB, S_AWAIT, S_BJOB, S_BWAIT, S_WIN,
                            S_FIN, S_OJOB, S_OWAIT, S_DONE} state_t;
  state_t st;
  logic [31:0] ch, oy, ox0, ky, kx, nlanes;
  logic signed [63:0] acc [VL];

  // ---- DMA: d_tgt 0 table, 1 A, 2 B, 3 write O ----
  logic d_start, d_busy, d_we;
  logic [1:0] d_tgt;
  logic [31:0] d_word, d_words, d_issued, d_recv, d_bits, d_n;

  assign m_req = d_busy && d_issued < d_words;
  assign m_we = d_we;
  assign m_addr = d_word + d_issued;

  wire [63:0] omask = (v_obits >= 32) ? 64'hffff_ffff : ((64'd1 << v_obits) - 1);
  always_comb begin
    m_wdata = '0;
    m_wmask = '0;
    for (int s = 0; s < 32; s++) begin
      logic [31:0] e;
      e = d_issued * (64 / v_obits) + s;
      if (s < 64 / v_obits && e < d_n) begin
        m_wdata = m_wdata | ((64'(obuf[e[$clog2(FMAX)-1:0]]) & omask) << (s * v_obits));
        m_wmask = m_wmask | (omask << (s * v_obits));
      end
    end
  end

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
        for (int s = 0; s < 32; s++) begin
          logic [31:0] e;
          logic [15:0] v;
          e = d_recv * (64 / d_bits) + s;
          v = 16'((m_rdata >> (s * d_bits)) & ((64'd1 << d_bits) - 1));
          if (s < 64 / d_bits && e < d_n) begin
            if (d_tgt == 0) tbl[e[7:0]] <= v;
            if (d_tgt == 1) abuf[e[$clog2(FMAX)-1:0]] <= v;
            if (d_tgt == 2) bbuf[e[$clog2(FMAX)-1:0]] <= v;
          end
        end
        if (d_recv + 1 == d_words) d_busy <= 0;
      end
    end
  end

  // ---- lanes: one window element per lane per cycle ----
  logic signed [31:0] iy, ixb;
  assign iy = $signed(oy * v_stride) - $signed(v_pad) + $signed(ky * v_dil);
  assign ixb = $signed(ox0 * v_stride) - $signed(v_pad) + $signed(kx * v_dil);

  function automatic logic [15:0] finalize(input logic signed [63:0] v0, input logic [15:0] v1);
    logic signed [63:0] y;
    y = $signed(v_m0) * v0 + ((v_two != 0) ? $signed(v_m1) * $signed({48'd0, v1}) : 64'sd0) + $signed(v_c0);
    y = y >>> v_shift[5:0];
    if (y < $signed({32'd0, v_lo})) y = $signed({32'd0, v_lo});
    if (y > $signed({32'd0, v_hi})) y = $signed({32'd0, v_hi});
    finalize = (v_lut != 0) ? tbl[v0[7:0]] : y[15:0];
  endfunction

  always_ff @(posedge clk) begin
    d_start <= 0;
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
          cnt_compute <= 0; cnt_transfer <= 0; cnt_writeback <= 0; cnt_post <= 0;
          done <= 0; ch <= 0; oy <= 0; ox0 <= 0; ky <= 0; kx <= 0;
          nlanes <= (64 / v_abits < VL) ? 64 / v_abits : VL;
          st <= (v_lut != 0) ? S_TJOB : S_AJOB;
        end
        S_TJOB: begin  // the table: 2^a_bits entries of 16 bits
          d_tgt <= 0; d_we <= 0; d_bits <= 16; d_word <= v_tw;
          d_n <= 32'd1 << v_abits; d_words <= ((32'd1 << v_abits) + 3) / 4;
          d_start <= 1; st <= S_TWAIT;
        end
        S_TWAIT: if (!d_start && !d_busy) st <= S_AJOB;
        S_AJOB: begin
          d_tgt <= 1; d_we <= 0; d_bits <= v_abits; d_word <= v_aw + ch * v_apw;
          d_n <= v_ih * v_iw; d_words <= v_apw;
          d_start <= 1; st <= S_AWAIT;
        end
        S_AWAIT: if (!d_start && !d_busy) st <= (v_two != 0) ? S_BJOB : S_WIN;
        S_BJOB: begin
          d_tgt <= 2; d_we <= 0; d_bits <= v_bbits; d_word <= v_bw + ch * v_bpw;
          d_n <= v_ih * v_iw; d_words <= v_bpw;
          d_start <= 1; st <= S_BWAIT;
        end
        S_BWAIT: if (!d_start && !d_busy) st <= S_WIN;
        S_WIN: begin  // window element (ky, kx) of nlanes output pixels of row oy
          for (int l = 0; l < VL; l++) begin
            logic signed [31:0] ix;
            logic signed [63:0] v, a;
            ix = ixb + $signed(32'(l) * v_stride);
            v = $signed({48'd0, abuf[32'(iy * $signed(v_iw) + ix)]});
            a = (ky == 0 && kx == 0) ? 64'sd0 : acc[l];
            if (32'(l) < nlanes && iy >= 0 && iy < $signed(v_ih) && ix >= 0 && ix < $signed(v_iw))
              a = (v_pool != 0) ? ((v > a) ? v : a) : a + v;
            acc[l] <= a;
          end
          if (kx + 1 == v_kw) begin
            kx <= 0;
            if (ky + 1 == v_kh) begin ky <= 0; st <= S_FIN; end else ky <= ky + 1;
          end else kx <= kx + 1;
        end
        S_FIN: begin
          for (int l = 0; l < VL; l++) begin
            logic [31:0] p;
            p = oy * v_ow + ox0 + 32'(l);
            if (32'(l) < nlanes && ox0 + 32'(l) < v_ow)
              obuf[p[$clog2(FMAX)-1:0]] <= finalize(acc[l], bbuf[p[$clog2(FMAX)-1:0]]);
          end
          if (ox0 + nlanes >= v_ow) begin
            ox0 <= 0;
            if (oy + 1 == v_oh) begin oy <= 0; st <= S_OJOB; end
            else begin oy <= oy + 1; st <= S_WIN; end
          end else begin ox0 <= ox0 + nlanes; st <= S_WIN; end
        end
        S_OJOB: begin
          d_tgt <= 3; d_we <= 1; d_word <= v_ow0 + ch * v_opw;
          d_n <= v_oh * v_ow; d_words <= v_opw;
          d_start <= 1; st <= S_OWAIT;
        end
        S_OWAIT: if (!d_start && !d_busy) begin
          if (ch + 1 == v_c) st <= S_DONE;
          else begin ch <= ch + 1; st <= S_AJOB; end
        end
        S_DONE: begin done <= 1; st <= S_IDLE; end
        default: st <= S_IDLE;
      endcase
    end
  end
endmodule
