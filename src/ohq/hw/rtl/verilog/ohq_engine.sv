// The whole accelerator: the layer engine (ohq_core) and the post-processing unit (ohq_vec) on
// one memory port (the DMA master), with the layer registers as inputs (the PS writes them over
// AXI-lite). This is the unit yosys synthesizes (ohq.hw.rtl.synth) and ohq_tb simulates.
module ohq_engine #(
    parameter int L = 16, MODE = 0, WB = 8, WC = 8, AB = 8, M1 = 2, M2 = 1,
    parameter int FMAX = 4096, KMAX = 1024, PMAX = 1024
) (
    input  logic clk, rst, start,
    input  logic [31:0] cin_g, in_h, in_w, cout_g, groups, kh, kw, stride, pad,
    input  logic [31:0] out_h, out_w, band_oh, frows, kdim, zin, lo, hi, shift_k, acc_mode, out_bits,
    input  logic [47:0] in_bit, out_bit,
    input  logic [31:0] w_word,
    input  logic [31:0] unit,       // 0: the layer engine (ohq_core), 1: post-processing (ohq_vec)
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
  // the two units share the memory port; the driver starts one at a time
  logic c_req, c_we, c_done, u_req, u_we, u_done;
  logic [31:0] c_addr, u_addr;
  logic [63:0] c_wdata, c_wmask, u_wdata, u_wmask;
  logic [63:0] c_cnt [4], u_cnt [4];
  wire sel = unit[0];

  ohq_core #(.L(L), .MODE(MODE), .WB(WB), .WC(WC), .AB(AB), .M1(M1), .M2(M2),
             .FMAX(FMAX), .KMAX(KMAX), .PMAX(PMAX)) core (
      .clk, .rst, .start(start && !sel), .cin_g, .in_h, .in_w, .cout_g, .groups, .kh, .kw, .stride,
      .pad, .out_h, .out_w, .band_oh, .frows, .kdim, .zin, .lo, .hi, .shift_k, .acc_mode, .out_bits,
      .in_bit, .out_bit, .w_word, .done(c_done),
      .cnt_compute(c_cnt[0]), .cnt_transfer(c_cnt[1]), .cnt_writeback(c_cnt[2]), .cnt_post(c_cnt[3]),
      .m_req(c_req), .m_we(c_we), .m_addr(c_addr), .m_wdata(c_wdata), .m_wmask(c_wmask),
      .m_gnt(m_gnt && !sel), .m_rvalid(m_rvalid && !sel), .m_rdata);
  ohq_vec #(.FMAX(FMAX)) vec (
      .clk, .rst, .start(start && sel), .v_c, .v_ih, .v_iw, .v_oh, .v_ow, .v_kh, .v_kw, .v_stride,
      .v_pad, .v_dil, .v_pool, .v_two, .v_lut, .v_abits, .v_bbits, .v_obits, .v_shift, .v_lo, .v_hi,
      .v_m0, .v_m1, .v_c0, .v_aw, .v_bw, .v_tw, .v_ow0, .v_apw, .v_bpw, .v_opw, .done(u_done),
      .cnt_compute(u_cnt[0]), .cnt_transfer(u_cnt[1]), .cnt_writeback(u_cnt[2]), .cnt_post(u_cnt[3]),
      .m_req(u_req), .m_we(u_we), .m_addr(u_addr), .m_wdata(u_wdata), .m_wmask(u_wmask),
      .m_gnt(m_gnt && sel), .m_rvalid(m_rvalid && sel), .m_rdata);
  assign m_req = sel ? u_req : c_req;
  assign m_we = sel ? u_we : c_we;
  assign m_addr = sel ? u_addr : c_addr;
  assign m_wdata = sel ? u_wdata : c_wdata;
  assign m_wmask = sel ? u_wmask : c_wmask;
  assign done = sel ? u_done : c_done;
  assign cnt_compute = sel ? u_cnt[0] : c_cnt[0];
  assign cnt_transfer = sel ? u_cnt[1] : c_cnt[1];
  assign cnt_writeback = sel ? u_cnt[2] : c_cnt[2];
  assign cnt_post = sel ? u_cnt[3] : c_cnt[3];

endmodule
