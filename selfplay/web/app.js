// selfplay serve: the page. Plain JavaScript and SVG; every request goes to the JSON API of
// selfplay/serve.py, and every refusal is shown as its one line.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let options = null;

async function api(path, body) {
  let r;
  try {
    r = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
  } catch (e) {
    throw new Error("the server is not answering (stopped?): start it again and reload");
  }
  let data;
  try { data = await r.json(); } catch (e) { throw new Error(`the server answered ${r.status} without JSON`); }
  if (!r.ok) throw new Error(data.error || `error ${r.status}`);
  return data;
}

function el(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function say(id, text, error) {
  const p = $(id);
  p.textContent = text;
  p.classList.toggle("error", !!error);
}

// ---------------------------------------------------------------- boards
// draw(board, game, onMove, hints): an SVG of the position; legal cells are clickable
function draw(target, b, game, onMove, hints) {
  target.innerHTML = "";
  const byCell = new Map(b.moves.filter((m) => m.cell).map((m) => [m.cell.join(","), m]));
  const byCol = new Map(b.moves.filter((m) => m.cell).map((m) => [String(m.cell[1]), m]));
  const hintAt = new Map((hints || []).filter((h) => h.cell).map((h) => [h.cell.join(","), h]));
  const lit = new Set((b.highlight || []).map((c) => c.join(",")));
  const last = b.last ? b.last.join(",") : null;
  const s = 44;
  let svg;
  if (b.kind === "hex") {
    const w = s, h = s * 0.866, W = (b.cols + b.rows / 2 + 1) * w, H = (b.rows + 1) * h + 10;
    svg = el("svg", { width: W, height: H, class: "hex", "data-game": game });
    for (let r = 0; r < b.rows; r++) {
      for (let c = 0; c < b.cols; c++) {
        const x = w * (c + r / 2 + 0.8), y = h * (r + 0.9);
        const pts = [];
        for (let k = 0; k < 6; k++) {
          const a = Math.PI / 180 * (60 * k - 30);
          pts.push(`${x + (w / 1.75) * Math.cos(a)},${y + (w / 1.75) * Math.sin(a)}`);
        }
        cellShape(svg, el("polygon", { points: pts.join(" ") }), x, y, r, c);
      }
    }
    el("text", { x: 4, y: 12, class: "label" }, svg).textContent = "X (red): top to bottom; O (yellow): left to right";
  } else {
    const c4 = game === "connect_four", oth = game === "othello";
    svg = el("svg", { width: b.cols * s + 30, height: b.rows * s + 30, class: "grid" + (c4 ? " grid-c4" : oth ? " grid-othello" : ""), "data-game": game });
    for (let c = 0; c < b.cols; c++) el("text", { x: 24 + c * s + s / 2 - 4, y: 14, class: "label" }, svg).textContent = b.column_labels[c];
    for (let r = 0; r < b.rows; r++) {
      el("text", { x: 4, y: 20 + r * s + s / 2 + 4, class: "label" }, svg).textContent = (b.row_labels || [])[r] || "";
      for (let c = 0; c < b.cols; c++) {
        const x = 24 + c * s + s / 2, y = 20 + r * s + s / 2;
        cellShape(svg, el("rect", { x: x - s / 2, y: y - s / 2, width: s, height: s }), x, y, r, c);
      }
    }
  }
  target.appendChild(svg);

  function cellShape(svg, shape, x, y, r, c) {
    const key = `${r},${c}`;
    const g = el("g", { "data-cell": key }, svg);
    shape.setAttribute("class", "cell");
    g.appendChild(shape);
    if (game === "connect_four") el("circle", { cx: x, cy: y, r: s * 0.38, class: "hole" }, g);
    const v = b.cells[r][c];
    if (v) {
      const cls = `stone${v}` + (lit.has(key) ? " won" : key === last ? " last" : "");
      el("circle", { cx: x, cy: y, r: s * 0.36, class: cls, "data-stone": v }, g);
    }
    const move = byCell.get(key) || (game === "connect_four" ? byCol.get(String(c)) : null);
    if (move && onMove) {
      g.classList.add("legal");
      g.setAttribute("data-action", move.action);
      if (byCell.get(key) && !hintAt.get(key)) el("circle", { cx: x, cy: y, r: 4, class: "legal-dot" }, g);
      g.addEventListener("click", () => onMove(move.action));
    }
    const hint = hintAt.get(key);
    if (hint) {
      const t = el("text", { x, y: y + 4, "text-anchor": "middle", class: "hintv" + (hint.exact ? " " + hint.exact : "") }, g);
      t.textContent = hint.exact ? hint.exact : hint.q === null ? "" : (hint.q >= 0 ? "+" : "") + hint.q.toFixed(2);
      g.setAttribute("data-hint", t.textContent);
    }
  }
}

function resultText(b, players) {
  if (b.winner === null) return "It's a draw.";
  const who = players[b.winner];
  const how = b.ending ? ` (${b.ending})` : "";
  return (who === "you" ? "You win!" : `${who} wins.`) + how;
}

// ---------------------------------------------------------------- play
let game = null;   // the play tab's game, as the server last showed it
let thinking = false;

function fillAgents(gameSel, agentSel) {
  agentSel.innerHTML = "";
  for (const a of options.games[gameSel.value] || []) agentSel.add(new Option(a, a));
  const shipped = [...agentSel.options].find((o) => o.value.startsWith("shipped:"));
  if (shipped) agentSel.value = shipped.value;
}

function showPlay(hints) {
  const b = game.board;
  draw($("play-board"), b, game.game, thinking || game.agent_to_move || b.over ? null : humanMove, hints);
  $("play-players").textContent = `X: ${game.players[0]}   O: ${game.players[1]}`;
  $("play-history").innerHTML = game.history.map((m) => `<li>${m}</li>`).join("");
  const pass = b.moves.find((m) => m.cell === null);
  $("play-pass").hidden = !(pass && !game.agent_to_move && !b.over);
  if (b.over) say("play-status", "Game over: " + resultText(b, game.players));
  else if (thinking) say("play-status", "The agent is thinking…");
  else if (!game.agent_to_move) say("play-status", `Your move (${b.to_move === 0 ? "X" : "O"}).`);
}

async function guarded(fn, status) {
  try { await fn(); } catch (e) { say(status, e.message, true); }
}

async function agentTurn() {
  while (game && game.agent_to_move && !game.board.over) {
    thinking = true;
    showPlay();
    try { game = await api(`/api/play/${game.id}/agent`, { version: game.version }); }
    finally { thinking = false; }
  }
  showPlay();
}

async function humanMove(action) {
  await guarded(async () => {
    game = await api(`/api/play/${game.id}/move`, { action, version: game.version });
    showPlay();
    await agentTurn();
  }, "play-status");
}

async function startPlay() {
  await guarded(async () => {
    const mode = $("play-mode").value, amount = Number($("play-amount").value);
    game = await api("/api/play", {
      game: $("play-game").value, agent: $("play-agent").value, human_seat: Number($("play-seat").value),
      search: mode === "search" ? amount : null, move_time: mode === "time" ? amount : null,
    });
    showPlay();
    await agentTurn();
  }, "play-status");
}

// ---------------------------------------------------------------- watch
let watched = null, auto = false;

function showWatch() {
  const b = watched.board;
  draw($("watch-board"), b, watched.game, null);
  $("watch-history").innerHTML = watched.history.map((m) => `<li>${m}</li>`).join("");
  say("watch-status", b.over ? "Game over: " + resultText(b, watched.players) : `X: ${watched.players[0]}  O: ${watched.players[1]}`);
}

async function watchStep() {
  if (!watched || watched.board.over) { auto = false; return; }
  watched = await api(`/api/play/${watched.id}/agent`, { version: watched.version });
  showWatch();
}

// ---------------------------------------------------------------- rank
let replayFrames = [], replayAt = 0, replayGame = "";

function ratingsPlot(g) {
  const rows = g.ratings.filter((r) => r.elo !== null);
  const W = 520, rowH = 24, H = rows.length * rowH + 30;
  const lo = Math.min(...rows.map((r) => r.elo - (r.ci95 || 0)), 0), hi = Math.max(...rows.map((r) => r.elo + (r.ci95 || 0)), 1);
  const x = (v) => 180 + (v - lo) / (hi - lo) * (W - 200);
  const svg = el("svg", { width: W, height: H, class: "ratings", "data-ratings": JSON.stringify(rows) });
  rows.forEach((r, i) => {
    const y = 20 + i * rowH;
    el("text", { x: 4, y: y + 4, class: "label" }, svg).textContent = r.player.slice(0, 26);
    if (r.ci95) el("line", { x1: x(r.elo - r.ci95), x2: x(r.elo + r.ci95), y1: y, y2: y, stroke: "#555" }, svg);
    el("circle", { cx: x(r.elo), cy: y, r: 4, fill: "#1e4fa3" }, svg);
    el("text", { x: W - 14, y: y + 4, class: "label", "text-anchor": "end" }, svg).textContent = `${r.elo >= 0 ? "+" : ""}${r.elo}`;
  });
  return svg;
}

async function openRank() {
  await guarded(async () => {
    const name = $("rank-db").value;
    const data = await api(`/api/rank/${encodeURIComponent(name)}`);
    const body = $("rank-body");
    body.innerHTML = "";
    for (const g of data.games) {
      const h = document.createElement("h2");
      h.textContent = `${g.game}: ${g.players.length} players (Elo anchored at ${g.anchor} = 0)`;
      body.appendChild(h);
      const t = document.createElement("table");
      t.className = "cross";
      t.innerHTML = "<tr><th></th>" + g.players.map((_, j) => `<th>${j + 1}</th>`).join("") + "</tr>" +
        g.cross.map((row, i) => `<tr><td class="name">${i + 1}. ${g.players[i]}</td>` +
          row.map((c, j) => `<td>${i === j ? "-" : c.games ? `${c.points}/${c.games}` : ""}</td>`).join("") + "</tr>").join("");
      body.appendChild(t);
      body.appendChild(ratingsPlot(g));
      const list = document.createElement("table");
      list.className = "stored";
      list.innerHTML = "<tr><th>#</th><th>X</th><th>O</th><th>result</th><th>plies</th><th></th></tr>" +
        g.stored.map((s) => `<tr><td>${s.k}</td><td class="name">${s.black}</td><td class="name">${s.white}</td>` +
          `<td>${s.result}${s.ending ? " (" + s.ending + ")" : ""}</td><td>${s.plies}</td>` +
          `<td><button data-replay="${s.k}" data-game="${g.game}">replay</button></td></tr>`).join("");
      body.appendChild(list);
    }
    body.querySelectorAll("button[data-replay]").forEach((bt) =>
      bt.addEventListener("click", () => openReplay(name, bt.dataset.game, Number(bt.dataset.replay))));
    say("rank-status", `${name}: ${data.games.reduce((n, g) => n + g.stored.length, 0)} games stored`);
  }, "rank-status");
}

async function openReplay(name, gameName, k) {
  await guarded(async () => {
    const data = await api(`/api/rank/${encodeURIComponent(name)}/game/${k}?game=${encodeURIComponent(gameName)}`);
    replayFrames = data.frames; replayGame = gameName; replayAt = 0;
    $("replay").hidden = false;
    $("replay-title").textContent = `game ${k}: ${data.moves.join(" ")}`;
    showReplay();
  }, "rank-status");
}

function showReplay() {
  replayAt = Math.max(0, Math.min(replayAt, replayFrames.length - 1));
  draw($("replay-board"), replayFrames[replayAt], replayGame, null);
  say("replay-status", `ply ${replayAt} of ${replayFrames.length - 1}`);
}

// ---------------------------------------------------------------- train
let trainTimer = null;

function curve(evals) {
  const W = 560, H = 260, pad = 40;
  const svg = el("svg", { width: W, height: H, class: "curve", "data-points": evals.length });
  const xs = evals.map((e) => e.moves), xmax = Math.max(1, ...xs);
  const X = (v) => pad + v / xmax * (W - 2 * pad), Y = (v) => H - pad - v * (H - 2 * pad);
  el("line", { x1: pad, x2: W - pad, y1: Y(0), y2: Y(0), stroke: "#999" }, svg);
  el("line", { x1: pad, x2: pad, y1: Y(0), y2: Y(1), stroke: "#999" }, svg);
  el("text", { x: 4, y: Y(1) + 4, class: "label" }, svg).textContent = "100%";
  el("text", { x: W - pad - 60, y: H - 8, class: "label" }, svg).textContent = `${xmax.toLocaleString()} moves`;
  for (const [key, color] of [["vs_random", "#1e4fa3"], ["vs_frozen", "#c62828"]]) {
    const pts = evals.filter((e) => e[key] !== null && e[key] !== undefined).map((e) => `${X(e.moves)},${Y(e[key])}`);
    if (pts.length) el("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2, "data-series": key }, svg);
  }
  el("text", { x: pad + 8, y: 16, class: "label", fill: "#1e4fa3" }, svg).textContent = "blue: score vs random; red: vs the frozen copy";
  return svg;
}

function eloCurve(points, anchor) {
  // the learner's Bradley-Terry Elo against the evaluation ladder, with its 95% interval
  const W = 560, H = 220, pad = 40;
  const svg = el("svg", { width: W, height: H, class: "curve", "data-points": points.length, "data-series": "elo" });
  const xmax = Math.max(1, ...points.map((p) => p.moves));
  const lo = Math.min(0, ...points.map((p) => p.elo - p.ci95)), hi = Math.max(0, ...points.map((p) => p.elo + p.ci95));
  const X = (v) => pad + v / xmax * (W - 2 * pad), Y = (v) => H - pad - (v - lo) / Math.max(1, hi - lo) * (H - 2 * pad);
  el("line", { x1: pad, x2: W - pad, y1: Y(0), y2: Y(0), stroke: "#999", "stroke-dasharray": "4 3" }, svg);
  el("text", { x: 4, y: Y(0) + 4, class: "label" }, svg).textContent = "0";
  for (const p of points) {
    el("line", { x1: X(p.moves), x2: X(p.moves), y1: Y(p.elo - p.ci95), y2: Y(p.elo + p.ci95), stroke: "#6a1b9a" }, svg);
  }
  el("polyline", { points: points.map((p) => `${X(p.moves)},${Y(p.elo)}`).join(" "), fill: "none", stroke: "#6a1b9a", "stroke-width": 2 }, svg);
  el("text", { x: pad + 8, y: 16, class: "label", fill: "#6a1b9a" }, svg).textContent =
    `Elo against the evaluation ladder (0 = ${anchor}), 95% intervals; last ${Math.round(points[points.length - 1].elo)}`;
  return svg;
}

async function openRun() {
  clearInterval(trainTimer);
  const load = () => guarded(async () => {
    const name = $("train-run").value;
    const data = await api(`/api/runs/${encodeURIComponent(name)}`);
    $("train-plot").innerHTML = "";
    $("train-plot").appendChild(curve(data.evals));
    if (data.elo.length) $("train-plot").appendChild(eloCurve(data.elo, data.anchor));
    $("train-settings").innerHTML = Object.entries(data.settings).map(([k, v]) =>
      `<tr><td class="name">${k}</td><td class="name">${typeof v === "object" ? JSON.stringify(v) : v}</td></tr>`).join("");
    const lastTrain = data.train[data.train.length - 1];
    say("train-status", `${name}: ${data.evals.length} evaluations` + (lastTrain ? `, ${lastTrain.moves.toLocaleString()} moves at ${Math.round(lastTrain.time)} s` : "") + " (refreshed every 5 s)");
  }, "train-status");
  await load();
  trainTimer = setInterval(load, 5000);
}

// ---------------------------------------------------------------- set-up
async function init() {
  document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => {
    document.querySelectorAll(".tab").forEach((u) => u.classList.toggle("active", u === t));
    document.querySelectorAll(".panel").forEach((p) => { p.hidden = p.id !== t.dataset.tab; });
  }));
  try { options = await api("/api/options"); } catch (e) { say("play-status", e.message, true); return; }
  for (const sel of [$("play-game"), $("watch-game")]) {
    for (const g of Object.keys(options.games)) sel.add(new Option(g, g));
    sel.value = "connect_four";
  }
  for (const t of options.tournaments) $("rank-db").add(new Option(t, t));
  for (const r of options.runs) $("train-run").add(new Option(r, r));
  fillAgents($("play-game"), $("play-agent"));
  fillAgents($("watch-game"), $("watch-a"));
  fillAgents($("watch-game"), $("watch-b"));
  $("play-game").addEventListener("change", () => fillAgents($("play-game"), $("play-agent")));
  $("watch-game").addEventListener("change", () => { fillAgents($("watch-game"), $("watch-a")); fillAgents($("watch-game"), $("watch-b")); });
  $("play-start").addEventListener("click", startPlay);
  $("play-again").addEventListener("click", () => game && guarded(async () => { game = await api(`/api/play/${game.id}/new`, {}); showPlay(); await agentTurn(); }, "play-status"));
  $("play-swap").addEventListener("click", () => game && guarded(async () => { game = await api(`/api/play/${game.id}/new`, { swap: true }); showPlay(); await agentTurn(); }, "play-status"));
  $("play-undo").addEventListener("click", () => game && guarded(async () => { game = await api(`/api/play/${game.id}/undo`, { version: game.version }); showPlay(); }, "play-status"));
  $("play-hint").addEventListener("click", () => game && guarded(async () => {
    const h = await api(`/api/play/${game.id}/hint`);
    showPlay(h.values);
    const best = [...h.values].sort((a, b) => (b.q ?? 0) - (a.q ?? 0))[0];
    say("play-status", `Hint: the agent likes ${best.label}` + (best.q !== null ? ` (${best.q >= 0 ? "+" : ""}${best.q})` : "") + (h.values.some((v) => v.exact) ? "; exact results marked" : ""));
  }, "play-status"));
  $("play-pass").addEventListener("click", () => { const p = game.board.moves.find((m) => m.cell === null); if (p) humanMove(p.action); });
  $("watch-start").addEventListener("click", () => guarded(async () => {
    watched = await api("/api/watch", { game: $("watch-game").value, a: $("watch-a").value, b: $("watch-b").value });
    showWatch();
  }, "watch-status"));
  $("watch-step").addEventListener("click", () => guarded(watchStep, "watch-status"));
  $("watch-auto").addEventListener("click", () => guarded(async () => { auto = true; while (auto && watched && !watched.board.over) await watchStep(); }, "watch-status"));
  $("rank-open").addEventListener("click", openRank);
  $("train-open").addEventListener("click", openRun);
  $("replay-first").addEventListener("click", () => { replayAt = 0; showReplay(); });
  $("replay-prev").addEventListener("click", () => { replayAt -= 1; showReplay(); });
  $("replay-next").addEventListener("click", () => { replayAt += 1; showReplay(); });
  $("replay-last").addEventListener("click", () => { replayAt = replayFrames.length - 1; showReplay(); });
  document.body.dataset.ready = "1";  // every control is live
}

init();
