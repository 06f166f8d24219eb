`include "ohq_ports.svh"
// Testbench top for Verilator: the layer engine and the post-processing unit against a DRAM model. The DRAM grants one 64-bit beat
// when BW16/16 bytes per cycle of credit has built up (bandwidth) and returns read data LAT
// cycles after the grant (latency); the words live in the C++ harness (DPI).
module ohq_tb #(
    parameter int L = 16, MODE = 0, WB = 8, WC = 8, AB = 8, M1 = 2, M2 = 1,
    parameter int FMAX = 4096, KMAX = 1024, PMAX = 1024, VL = 16,
    parameter int BW16 = 64, LAT = 32
) (
    input  logic clk, rst, start,
    `OHQ_CORE_REGS,
    input  logic [31:0] unit,       // 0: the layer engine (ohq_core), 1: post-processing (ohq_vec)
    `OHQ_VEC_REGS,
    output logic done,
    `OHQ_COUNTERS,
    output logic [63:0] cnt_beats   // 64-bit DRAM beats moved (reads and writes)
);
  import "DPI-C" function longint dram_rd(input int addr);
  import "DPI-C" function void dram_wr(input int addr, input longint data, input longint mask);

  logic m_req, m_we, m_gnt, m_rvalid;
  logic [31:0] m_addr;
  logic [63:0] m_wdata, m_wmask, m_rdata;
  logic [31:0] credit;
  logic [LAT:0] pv;
  logic [63:0] pd [LAT+1];

  ohq_engine #(.L(L), .MODE(MODE), .WB(WB), .WC(WC), .AB(AB), .M1(M1), .M2(M2),
               .FMAX(FMAX), .KMAX(KMAX), .PMAX(PMAX), .VL(VL)) engine (.*);

  assign m_gnt = m_req && credit >= 128;
  assign m_rvalid = pv[LAT];
  assign m_rdata = pd[LAT];

  always_ff @(posedge clk) begin
    if (rst) begin
      credit <= 0;
      cnt_beats <= 0;
      pv <= '0;
    end else begin
      credit <= (m_gnt ? credit - 128 : credit) + ((credit < 1024) ? BW16 : 0);
      if (m_gnt) cnt_beats <= cnt_beats + 1;
      pv[0] <= m_gnt && !m_we;
      if (m_gnt && !m_we) pd[0] <= dram_rd(m_addr);
      if (m_gnt && m_we) dram_wr(m_addr, m_wdata, m_wmask);
      for (int i = 1; i <= LAT; i++) begin
        pv[i] <= pv[i-1];
        pd[i] <= pd[i-1];
      end
    end
  end
endmodule
