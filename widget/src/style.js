// The widget's CSS, scoped by the shadow root. System fonts only: nothing is fetched from other hosts.
export const STYLE = `
:host { all: initial; }
* { box-sizing: border-box; font-family: -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
[hidden] { display: none !important; }
button { font: inherit; cursor: pointer; }
button:focus-visible, textarea:focus-visible, .log:focus-visible { outline: 3px solid #f0b429; outline-offset: 2px; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 24px;
  padding: 12px 20px; background: var(--kx-color); color: #fff; font-size: 16px; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.panel { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 380px; height: min(620px, calc(100vh - 40px));
  display: flex; flex-direction: column; background: #fff; color: #1b1b1b; border-radius: 12px; overflow: hidden;
  box-shadow: 0 8px 30px rgba(0,0,0,.3); font-size: 15px; line-height: 1.5; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: var(--kx-color); color: #fff; }
header h2 { margin: 0; font-size: 16px; font-weight: 600; }
.status { margin: 0 0 0 auto; font-size: 12px; opacity: .9; }
.status.problem { background: #fff3cd; color: #6b4e00; padding: 2px 6px; border-radius: 4px; opacity: 1; }
.close { border: 0; background: transparent; color: #fff; font-size: 22px; line-height: 1; padding: 0 4px; }
.log { flex: 1; overflow-y: auto; padding: 12px; background: #f4f6f5; }
.message { max-width: 85%; margin: 6px 0; padding: 8px 12px; border-radius: 12px; word-break: break-word; }
.message p { margin: 0 0 6px; } .message p:last-child { margin-bottom: 0; }
.bot { background: #fff; border: 1px solid #dde3e0; border-top-left-radius: 4px; }
.user { margin-left: auto; background: var(--kx-color); color: #fff; border-top-right-radius: 4px; }
.user.pending { opacity: .75; }
.user.failed { background: #fdecea; color: #8a1c12; border: 1px solid #d9534f; }
.user.refused { opacity: .6; text-decoration: line-through; }
.retry { display: block; margin-top: 4px; border: 0; background: transparent; color: #8a1c12; text-decoration: underline; padding: 0; font-size: 13px; }
.notice { margin: 6px auto; max-width: 90%; padding: 4px 10px; border-radius: 8px; background: #fff3cd; color: #6b4e00; font-size: 13px; text-align: center; }
.staff { border: 2px solid #c77d00; background: #fffaf0; }
.who { display: block; font-size: 12px; font-weight: 600; color: #8a5600; margin-bottom: 2px; }
.schedule { border-collapse: collapse; margin: 6px 0; font-size: 14px; width: 100%; }
.schedule caption { text-align: left; font-weight: 600; margin-bottom: 2px; }
.schedule th, .schedule td { border: 1px solid #cfd8d4; padding: 3px 6px; text-align: left; }
.schedule td:last-child, .schedule th:last-child { text-align: right; }
.amounts { border-collapse: collapse; margin: 4px 0 6px; font-size: 14px; width: 100%; }
.amounts th, .amounts td { border-bottom: 1px solid #e3e9e6; padding: 3px 4px; text-align: left; vertical-align: top; font-weight: normal; }
.amounts td { text-align: right; white-space: nowrap; }
.amounts small { display: block; color: #5b6b65; font-size: 12px; }
.amounts tr.total th, .amounts tr.total td { font-weight: 600; border-bottom: none; }
.terms { border: 1px solid #cfd8d4; border-radius: 8px; padding: 6px 10px; margin: 6px 0; background: #f7faf9; }
.terms > p:first-child { font-weight: 600; }
.pay { margin: 6px 0; }
.pay-now { display: inline-block; padding: 6px 14px; border-radius: 16px; background: var(--kx-color); color: #fff; text-decoration: none; font-weight: 600; }
.pay-now:focus-visible { outline: 3px solid #f0b429; outline-offset: 2px; }
.pay small { display: block; color: #5b6b65; font-size: 12px; margin-top: 2px; }
.quick-replies { display: flex; flex-wrap: wrap; gap: 6px; margin: 4px 0 8px; }
.quick-replies button { border: 1px solid var(--kx-color); color: var(--kx-color); background: #fff; border-radius: 16px; padding: 4px 12px; }
.typing { margin: 0; padding: 4px 14px; font-size: 13px; color: #555; background: #f4f6f5; }
.composer { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #dde3e0; }
.composer textarea { flex: 1; resize: none; border: 1px solid #b9c4bf; border-radius: 8px; padding: 8px; font-size: 15px; }
.composer button { border: 0; border-radius: 8px; padding: 0 16px; background: var(--kx-color); color: #fff; }
.composer .attach, .composer .camera { padding: 0 8px; background: #fff; color: var(--kx-color); border: 1px solid var(--kx-color); font-size: 13px; }
.drop-hint { margin: 0; padding: 10px; text-align: center; border: 2px dashed var(--kx-color); color: var(--kx-color); background: #eef6f2; }
.consent { max-width: 95%; border: 2px solid var(--kx-color); }
.consent.answered .quick-replies { display: none; }
.user.document { font-size: 14px; }
@media (max-width: 480px) {
  .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; }
  .launcher { right: 12px; bottom: 12px; }
}
`;
