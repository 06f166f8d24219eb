`include "ohq_ports.svh"
// The whole accelerator: the layer engine (ohq_core) and the post-processing unit (ohq_vec) on
// one memory port (the DMA master), with the layer registers as inputs (the PS writes them over
// AXI-lite). This is the unit yosys synthesizes (ohq.hw.rtl.synth) and ohq_tb simulates.
module ohq_engine #(
    parameter int L = 16, MODE = 0, WB = 8, WC = 8, AB = 8, M1 = 2, M2 = 1,
    parameter int FMAX = 4096, KMAX = 1024, PMAX = 1024, VL = 16
) (
    input  logic clk, rst, start,
    `OHQ_CORE_REGS,
    input  logic [31:0] unit,       // 0: the layer engine (ohq_core), 1: post-processing (ohq_vec)
    `OHQ_VEC_REGS,
    output logic done,
    `OHQ_COUNTERS,
    `OHQ_MEM_PORT
);
  // the two units share the memory port; the driver starts one at a time
  logic c_req, c_we, c_done, u_req, u_we, u_done;
  logic [31:0] c_addr, u_addr;
  logic [63:0] c_wdata, c_wmask, u_wdata, u_wmask;
  logic [63:0] c_cnt [4], u_cnt [4];
  wire sel = unit[0];

  ohq_core #(.L(L), .MODE(MODE), .WB(WB), .WC(WC), .AB(AB), .M1(M1), .M2(M2),
             .FMAX(FMAX), .KMAX(KMAX), .PMAX(PMAX)) core (
      .*, .start(start && !sel), .done(c_done),  // .*: clk, rst and the layer registers
      .cnt_compute(c_cnt[0]), .cnt_transfer(c_cnt[1]), .cnt_writeback(c_cnt[2]), .cnt_post(c_cnt[3]),
      .m_req(c_req), .m_we(c_we), .m_addr(c_addr), .m_wdata(c_wdata), .m_wmask(c_wmask),
      .m_gnt(m_gnt && !sel), .m_rvalid(m_rvalid && !sel), .m_rdata);
  ohq_vec #(.FMAX(FMAX), .VL(VL)) vec (
      .*, .start(start && sel), .done(u_done),  // .*: clk, rst and the unit's registers
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
