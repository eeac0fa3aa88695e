// The coder's workbench: every frame is fetched once and kept decoded (ImageBitmap), so stepping
// only draws to a canvas and never waits on the network. Frame numbers are source frame indices.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("workbench-config").textContent);
  const frames = config.frames;
  const positionOf = new Map(frames.map((frame, index) => [frame, index]));
  const indexOf = (frame) => positionOf.get(frame) ?? -1;
  const form = document.getElementById("annotation-form");
  const DIFF_GAIN = 6;
  const FETCH_CONCURRENCY = 6;
  const SPEEDS = [0.125, 0.25, 0.5, 1];
  const STEP_ACTIONS = new Set(["prev", "next", "back10", "fwd10", "first", "last"]);
  const SAVE_DELAY_MS = 500;
  const PROPOSAL_COLOR = "#0e9384";
  // The review page's lanes: one row per coder (and the final annotation) above the ticks.
  const lanes = config.lanes ?? [];
  const LANE_HEIGHT = 12;
  const LANE_COLORS = ["#7a5af8", "#dd2590", "#f79009", "#0086c9", "#4ca30d"];
  const FINAL_LANE_COLOR = "#1d2939";
  // No save URL (the review page): the form is posted as a whole by its own button.
  const autosaving = config.saveUrl !== null;

  const layerUrl = (layer, frame) =>
    config.mediaUrl.replace("/LAYER/", `/${layer}/`).replace(/\/0\.jpg$/, `/${frame}.jpg`);
  const sourceLayer = { frame: "frame", aligned: config.alignedLayer, diff: config.alignedLayer, motion: "motion" };

  // --- state --------------------------------------------------------------------------------
  let position = 0; // the frame asked for
  let shownPosition = 0; // the frame on screen: marks and the readout refer to it alone
  let playing = false;
  let zoomed = false; // the raw frame cropped to the face box (key Z)
  // Magnification by the mouse wheel over the images, about `focus` (fractions of the image);
  // a drag pans. A CSS transform: the page's layout never moves.
  let magnify = 1;
  const focus = { x: 0.5, y: 0.5 };
  const MAGNIFY_STEP = 1.25;
  const MAGNIFY_MAX = 8;
  let state = {
    onset: config.marks.onset, apex: config.marks.apex, offset: config.marks.offset,
    emotion: config.emotion, aus: [...config.actionUnits],
  };
  const history = [];
  // The active model's proposal as the server rendered it; null when absent or hidden.
  let proposal = null;
  const bitmaps = new Map(); // layer -> Array(frames.length) of ImageBitmap
  const latencies = [];
  let pendingKeyTime = null;
  // Background decoding competes with drawing for the main thread: it waits while the coder
  // steps, so a key press never queues behind an image decode.
  let lastInteraction = 0;
  const INTERACTION_QUIET_MS = 300;

  // --- frame loading --------------------------------------------------------------------------
  function store(layer) {
    if (!bitmaps.has(layer)) bitmaps.set(layer, new Array(frames.length).fill(null));
    return bitmaps.get(layer);
  }

  function quietMoment() {
    const wait = lastInteraction + INTERACTION_QUIET_MS - performance.now();
    if (wait <= 0) return null;
    return new Promise((resolve) => setTimeout(resolve, wait)).then(quietMoment);
  }

  async function loadLayer(layer, startAt, { background = false } = {}) {
    const slots = store(layer);
    const order = [...frames.keys()].sort(
      (a, b) => ((a - startAt + frames.length) % frames.length) - ((b - startAt + frames.length) % frames.length));
    let next = 0;
    async function worker() {
      while (next < order.length) {
        const index = order[next++];
        if (slots[index]) continue;
        if (background) await quietMoment();
        const response = await fetch(layerUrl(layer, frames[index]), { credentials: "same-origin" });
        if (!response.ok) throw new Error(`frame ${frames[index]} (${layer}): HTTP ${response.status}`);
        slots[index] = await createImageBitmap(await response.blob());
        if (index === position || position !== shownPosition) draw();
        reportLoading();
      }
    }
    await Promise.all(Array.from({ length: FETCH_CONCURRENCY }, worker));
  }

  function reportLoading() {
    const wanted = [...new Set(visibleLayers().map((l) => sourceLayer[l]))];
    const loaded = wanted.reduce((sum, layer) => sum + store(layer).filter(Boolean).length, 0);
    const total = wanted.length * frames.length;
    document.getElementById("load-status").textContent =
      loaded < total ? `Loading frames ${loaded}/${total}` : `All ${frames.length} frames loaded`;
  }

  async function loadVisible() {
    try {
      for (const layer of new Set(visibleLayers().map((l) => sourceLayer[l]))) {
        await loadLayer(layer, position);
      }
      // The other layers follow in the background, so switching views is instant too.
      for (const layer of new Set(Object.values(sourceLayer))) {
        await loadLayer(layer, position, { background: true });
      }
    } catch (error) {
      document.getElementById("load-status").textContent = `Could not load frames: ${error.message}`;
    }
  }

  // --- drawing --------------------------------------------------------------------------------
  const views = document.getElementById("views");
  const figures = [...views.querySelectorAll("figure")];
  const scratch = new OffscreenCanvas(1, 1).getContext("2d", { willReadFrequently: true });
  const onsetPixels = { frame: null, data: null };

  function visibleLayers() {
    const mode = document.getElementById("view-mode").value;
    return mode === "grid" ? figures.map((f) => f.dataset.layer) : [mode.replace("single-", "")];
  }

  function pixelsOf(bitmap) {
    scratch.canvas.width = bitmap.width;
    scratch.canvas.height = bitmap.height;
    scratch.drawImage(bitmap, 0, 0);
    return scratch.getImageData(0, 0, bitmap.width, bitmap.height);
  }

  function drawDifference(canvas, bitmap) {
    const reference = state.onset ?? config.onsetReference ?? frames[0];
    const referenceBitmap = store(sourceLayer.diff)[indexOf(reference)];
    if (!referenceBitmap) return false;
    if (onsetPixels.frame !== reference) {
      onsetPixels.frame = reference;
      onsetPixels.data = pixelsOf(referenceBitmap).data;
    }
    const current = pixelsOf(bitmap);
    const out = current.data;
    const base = onsetPixels.data;
    for (let i = 0; i < out.length; i += 4) {
      const d = Math.min(255, DIFF_GAIN * (Math.abs(out[i] - base[i]) + Math.abs(out[i + 1] - base[i + 1]) + Math.abs(out[i + 2] - base[i + 2])) / 3);
      out[i] = d; out[i + 1] = d * 0.55; out[i + 2] = 0;
    }
    canvas.getContext("2d").putImageData(current, 0, 0);
    return true;
  }

  // A frame is drawn only once every visible layer has it, so the screen never mixes frames.
  function frameReady(index) {
    return visibleLayers().every((layer) => {
      if (!store(sourceLayer[layer])[index]) return false;
      if (layer !== "diff") return true;
      return Boolean(store(sourceLayer.diff)[indexOf(state.onset ?? config.onsetReference ?? frames[0])]);
    });
  }

  function draw() {
    const active = visibleLayers();
    const ready = frameReady(position);
    document.getElementById("frame-wait").textContent = ready ? "" : `loading frame ${frames[position]}…`;
    // The frame on screen stays, dimmed, until the one asked for has arrived.
    for (const figure of figures) figure.classList.toggle("loading", !ready && active.includes(figure.dataset.layer));
    if (!ready) { drawTimeline(); return; }
    shownPosition = position;
    for (const figure of figures) {
      const layer = figure.dataset.layer;
      const shown = active.includes(layer);
      figure.classList.toggle("active", shown);
      if (!shown) continue;
      const canvas = figure.querySelector("canvas");
      const bitmap = store(sourceLayer[layer])[position];
      const box = layer === "frame" && zoomed && config.faceBox ? config.faceBox : null;
      const [sx, sy, sw, sh] = box
        ? [box[0], box[1], box[2] - box[0], box[3] - box[1]].map(Math.round)
        : [0, 0, bitmap.width, bitmap.height];
      if (canvas.width !== sw || canvas.height !== sh) { canvas.width = sw; canvas.height = sh; }
      if (layer === "diff") {
        drawDifference(canvas, bitmap);
      } else {
        canvas.getContext("2d").drawImage(bitmap, sx, sy, sw, sh, 0, 0, sw, sh);
      }
    }
    views.classList.toggle("single", active.length === 1);
    views.classList.toggle("zoomed", zoomed);
    document.getElementById("frame-number").textContent = frames[shownPosition];
    document.getElementById("frame-position").textContent = `${shownPosition + 1} of ${frames.length}`;
    document.getElementById("frame-time").textContent = timeReadout(frames[shownPosition]);
    laneReadout();
    drawTimeline();
    if (pendingKeyTime !== null) {
      const started = pendingKeyTime;
      pendingKeyTime = null;
      requestAnimationFrame(() => latencies.push(performance.now() - started));
    }
  }

  // Milliseconds from the onset mark (from the first frame until onset is marked): what an ME
  // paper reports (onset to apex, total duration), at the clip's frame rate.
  function msBetween(from, to) {
    return ((to - from) * 1000) / config.fps;
  }

  function timeReadout(frame) {
    const [from, label] = state.onset === null ? [frames[0], "from the first frame"] : [state.onset, "from onset"];
    const ms = msBetween(from, frame);
    return `${ms > 0 ? "+" : ""}${ms.toFixed(1)} ms ${label}`;
  }

  // --- the coder's view, speed and zoom, kept between clips (this browser only) ---------------
  const VIEW_KEY = "mestudio.workbench.view";

  function viewRestore() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(VIEW_KEY) || "{}");
    } catch {
      return; // another version's or a damaged value: keep the defaults
    }
    for (const [id, value] of [["view-mode", saved.view], ["speed", saved.speed]]) {
      const select = document.getElementById(id);
      if ([...select.options].some((option) => option.value === value)) select.value = value;
    }
    zoomed = saved.zoomed === true;
    if (Number.isFinite(saved.magnify)) magnify = Math.min(Math.max(saved.magnify, 1), MAGNIFY_MAX);
  }

  function viewRemember() {
    const view = document.getElementById("view-mode").value;
    const speed = document.getElementById("speed").value;
    localStorage.setItem(VIEW_KEY, JSON.stringify({ view, speed, zoomed, magnify }));
  }

  function magnifyApply() {
    for (const canvas of views.querySelectorAll("canvas")) {
      canvas.style.transformOrigin = `${(focus.x * 100).toFixed(2)}% ${(focus.y * 100).toFixed(2)}%`;
      canvas.style.transform = magnify === 1 ? "" : `scale(${magnify})`;
    }
    document.getElementById("magnify-level").textContent = magnify === 1 ? "" : `×${magnify.toFixed(2)}`;
  }

  function onWheel(event) {
    const canvas = event.target.closest("canvas");
    if (!canvas) return;
    event.preventDefault(); // the wheel zooms the image, it does not scroll the page
    const rect = canvas.getBoundingClientRect();
    if (magnify === 1) {
      focus.x = Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1);
      focus.y = Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1);
    }
    const factor = event.deltaY < 0 ? MAGNIFY_STEP : 1 / MAGNIFY_STEP;
    magnify = Math.min(Math.max(magnify * factor, 1), MAGNIFY_MAX);
    if (magnify < 1.01) magnify = 1;
    magnifyApply();
    viewRemember();
  }

  let panFrom = null;
  function onPanStart(event) {
    if (magnify === 1 || !event.target.closest("canvas")) return;
    panFrom = { x: event.clientX, y: event.clientY, rect: event.target.getBoundingClientRect() };
    event.preventDefault();
  }
  function onPanMove(event) {
    if (!panFrom) return;
    // Dragging the picture right shows what lies to its left: the focus moves against the drag.
    const { rect } = panFrom;
    focus.x = Math.min(Math.max(focus.x - (event.clientX - panFrom.x) / rect.width / (magnify - 1), 0), 1);
    focus.y = Math.min(Math.max(focus.y - (event.clientY - panFrom.y) / rect.height / (magnify - 1), 0), 1);
    panFrom = { ...panFrom, x: event.clientX, y: event.clientY };
    magnifyApply();
  }

  // --- timeline -------------------------------------------------------------------------------
  const timeline = document.getElementById("timeline");

  function xOf(index) {
    return ((index + 0.5) / frames.length) * timeline.width;
  }

  // Ticks, interval, marks and the proposal change only on edits; stepping moves the playhead
  // alone, so each step copies this cached strip instead of redrawing every tick.
  const timelineStrip = new OffscreenCanvas(1, 1);
  let timelineStripKey = "";
  let timelineWidth = timeline.clientWidth;
  new ResizeObserver(([entry]) => {
    timelineWidth = Math.round(entry.contentRect.width);
    drawTimeline();
  }).observe(timeline);

  function drawTimelineStrip(width, h) {
    timelineStrip.width = width;
    timelineStrip.height = h;
    const ctx = timelineStrip.getContext("2d");
    const onset = indexOf(state.onset);
    const offset = indexOf(state.offset);
    if (onset >= 0 && offset >= 0) {
      ctx.fillStyle = "rgba(36, 99, 235, 0.22)";
      ctx.fillRect(xOf(onset), 0, xOf(offset) - xOf(onset), h);
    }
    ctx.fillStyle = "#8a94a3";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "bottom";
    ctx.textAlign = "left";
    let labelledUpTo = -Infinity;
    for (let i = 0; i < frames.length; i++) {
      const tall = frames[i] % 10 === 0;
      const x = Math.floor(xOf(i));
      ctx.fillRect(x, tall ? h - 16 : h - 8, 1, tall ? 16 : 8);
      // Every tall tick that has room: its frame number and its time from the first frame.
      const label = `${frames[i]} · ${Math.round(msBetween(frames[0], frames[i]))} ms`;
      if (tall && x > labelledUpTo + 6 && x + ctx.measureText(label).width < width) {
        ctx.fillText(label, x + 3, h - 17);
        labelledUpTo = x + ctx.measureText(label).width;
      }
    }
    for (const [mark, color] of [["onset", "#2463eb"], ["apex", "#d92d20"], ["offset", "#2463eb"]]) {
      const index = indexOf(state[mark]);
      if (index < 0) continue;
      ctx.fillStyle = color;
      ctx.fillRect(Math.floor(xOf(index)) - 1, 0, 3, h);
    }
    if (proposal && proposal.onsetIndex >= 0 && proposal.offsetIndex >= 0) drawProposedInterval(ctx, h);
    if (proposal && proposal.index >= 0) drawProposedApex(ctx, width, h);
    drawLanes(ctx);
  }

  // Each lane: its interval as a band, its apex as a bar, its name at the left.
  function drawLanes(ctx) {
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    lanes.forEach((lane, row) => {
      const y = row * LANE_HEIGHT;
      const color = lane.final ? FINAL_LANE_COLOR : LANE_COLORS[row % LANE_COLORS.length];
      const onset = indexOf(lane.onset);
      const offset = indexOf(lane.offset);
      ctx.fillStyle = color;
      if (onset >= 0 && offset >= onset) {
        ctx.globalAlpha = 0.35;
        ctx.fillRect(xOf(onset), y + 3, Math.max(xOf(offset) - xOf(onset), 2), LANE_HEIGHT - 6);
        ctx.globalAlpha = 1;
      }
      for (const mark of ["onset", "apex", "offset"]) {
        const index = indexOf(lane[mark]);
        if (index >= 0) ctx.fillRect(Math.floor(xOf(index)) - (mark === "apex" ? 1 : 0), y + 1, mark === "apex" ? 3 : 1, LANE_HEIGHT - 2);
      }
      ctx.fillText(lane.label, 2, y + LANE_HEIGHT / 2);
    });
  }

  // The lanes' marks in frame order, for the keys that jump between them.
  const laneMarks = lanes
    .flatMap((lane) => ["onset", "apex", "offset"].map((mark) => ({ lane: lane.label, mark, index: indexOf(lane[mark]) })))
    .filter((entry) => entry.index >= 0)
    .sort((a, b) => a.index - b.index);

  function jumpToCoderMark(step) {
    const target = step > 0
      ? laneMarks.find((entry) => entry.index > position)
      : [...laneMarks].reverse().find((entry) => entry.index < position);
    if (target) goTo(target.index);
    return laneMarks.length > 0;
  }

  function laneReadout() {
    const readout = document.getElementById("lane-mark");
    if (!readout) return;
    const here = laneMarks.filter((entry) => entry.index === shownPosition);
    readout.textContent = here.map((entry) => `${entry.lane}'s ${entry.mark}`).join(", ");
  }

  function drawTimeline() {
    const width = timelineWidth;
    if (timeline.width !== width) timeline.width = width;
    const h = timeline.height;
    const key = [
      width, h, state.onset, state.apex, state.offset,
      proposal?.onsetIndex, proposal?.index, proposal?.offsetIndex, proposal?.percent,
    ].join();
    if (key !== timelineStripKey) {
      drawTimelineStrip(width, h);
      timelineStripKey = key;
    }
    const ctx = timeline.getContext("2d");
    ctx.clearRect(0, 0, width, h);
    ctx.drawImage(timelineStrip, 0, 0);
    ctx.fillStyle = "#111";
    ctx.beginPath();
    const cx = xOf(position);
    ctx.moveTo(cx - 6, 0); ctx.lineTo(cx + 6, 0); ctx.lineTo(cx, 9); ctx.fill();
    ctx.fillRect(Math.floor(cx), 0, 1, h);
  }

  // Onset and offset as long-dashed brackets, their caps pointing into the interval: unlike the
  // coder's solid bars, and unlike the proposed apex's short-dashed line and diamond.
  function drawProposedInterval(ctx, h) {
    ctx.strokeStyle = PROPOSAL_COLOR;
    ctx.lineWidth = 2;
    for (const [index, inward] of [[proposal.onsetIndex, 1], [proposal.offsetIndex, -1]]) {
      const x = Math.round(xOf(index));
      ctx.setLineDash([6, 4]);
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, h); ctx.stroke();
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.moveTo(x + 6 * inward, 1); ctx.lineTo(x, 1); ctx.moveTo(x, h - 1); ctx.lineTo(x + 6 * inward, h - 1);
      ctx.stroke();
    }
  }

  // A dashed line and a diamond, unlike the coder's solid apex bar, labelled with its confidence.
  function drawProposedApex(ctx, width, h) {
    const x = Math.floor(xOf(proposal.index)) + 0.5;
    const y = 17;
    ctx.strokeStyle = PROPOSAL_COLOR;
    ctx.fillStyle = PROPOSAL_COLOR;
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, h); ctx.stroke();
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.moveTo(x, y - 6); ctx.lineTo(x + 6, y); ctx.lineTo(x, y + 6); ctx.lineTo(x - 6, y);
    ctx.fill();
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const onLeft = x + 9 + ctx.measureText(proposal.percent).width > width;
    ctx.textAlign = onLeft ? "right" : "left";
    ctx.fillText(proposal.percent, onLeft ? x - 9 : x + 9, y);
  }

  function seekFromPointer(event) {
    const rect = timeline.getBoundingClientRect();
    const fraction = Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 0.9999);
    goTo(Math.floor(fraction * frames.length));
  }

  timeline.addEventListener("pointerdown", (event) => {
    lastInteraction = performance.now();
    timeline.setPointerCapture(event.pointerId);
    seekFromPointer(event);
  });
  timeline.addEventListener("pointermove", (event) => {
    if (timeline.hasPointerCapture(event.pointerId)) seekFromPointer(event);
  });

  // --- navigation and playback ----------------------------------------------------------------
  function goTo(index) {
    position = Math.min(Math.max(index, 0), frames.length - 1);
    draw();
  }

  function loopRange() {
    const useLoop = document.getElementById("loop").checked && state.onset != null && state.offset != null;
    return useLoop ? [indexOf(state.onset), indexOf(state.offset)] : [0, frames.length - 1];
  }

  function togglePlay() {
    playing = !playing;
    document.getElementById("play-button").textContent = playing ? "Pause" : "Play";
    if (!playing) return;
    let last = performance.now();
    let carried = 0;
    const tick = (now) => {
      if (!playing) return;
      carried += ((now - last) / 1000) * config.fps * Number(document.getElementById("speed").value);
      last = now;
      if (carried >= 1) {
        const [start, end] = loopRange();
        let next = position + Math.floor(carried);
        carried -= Math.floor(carried);
        if (next > end || next < start) next = start;
        goTo(next);
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  function changeSpeed(step) {
    const select = document.getElementById("speed");
    const index = SPEEDS.indexOf(Number(select.value));
    select.value = String(SPEEDS[Math.min(Math.max(index + step, 0), SPEEDS.length - 1)]);
    viewRemember();
  }

  // --- annotation state, undo and autosave -----------------------------------------------------
  function syncForm() {
    for (const mark of ["onset", "apex", "offset"]) {
      form.elements[mark].value = state[mark] ?? "";
    }
    for (const radio of form.querySelectorAll("input[name=emotion]")) {
      radio.checked = Number(radio.value) === state.emotion;
    }
    form.elements.action_units.value = state.aus.join("+");
    const list = document.getElementById("au-list");
    list.replaceChildren(...state.aus.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      item.dataset.code = code;
      if (config.auAsWritten.includes(code)) {
        item.classList.add("as-written");
        item.title = "Kept as the imported sheet wrote it: not a FACS code";
      }
      if (!config.readOnly) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", `Remove ${code}`);
        remove.addEventListener("click", () => change((s) => { s.aus = s.aus.filter((c) => c !== code); }));
        item.append(remove);
      }
      return item;
    }));
    syncProposedAus();
  }

  // Autosave: edits are sent SAVE_DELAY_MS after the last one, one request at a time. Counting
  // edits tells whether the server has all of them, which the status line and leaving rely on.
  const csrfToken = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  const saveStatus = () => document.getElementById("save-status");
  let editCount = 0;
  let savedCount = 0;
  let saveTimer = null;
  let saveInFlight = false;
  let saveAgain = false;
  let submitted = false;

  function showStatus(stateName, message) {
    const status = saveStatus();
    status.dataset.state = stateName;
    status.className = `save-status save-${stateName}`;
    status.textContent = message;
  }

  function autosave() {
    if (config.readOnly || !autosaving) return;
    editCount += 1;
    showStatus("pending", "Unsaved changes…");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveNow, SAVE_DELAY_MS);
  }

  function saveBody({ revision } = {}) {
    const body = new URLSearchParams(new FormData(form));
    if (revision !== undefined) body.set("revision", String(revision));
    return body;
  }

  function postSave(body) {
    // keepalive lets the request outlive the page when the coder leaves meanwhile.
    return fetch(form.dataset.saveUrl, {
      method: "POST", body, keepalive: true, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken },
    });
  }

  async function saveNow() {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (saveInFlight) { saveAgain = true; return; }
    saveInFlight = true;
    const sending = editCount;
    showStatus("saving", "Saving…");
    try {
      const response = await postSave(saveBody());
      htmx.swap(saveStatus(), await response.text(), { swapStyle: "outerHTML" });
      if (response.ok) savedCount = Math.max(savedCount, sending);
      if (response.ok && editCount > savedCount) showStatus("pending", "Unsaved changes…");
    } catch (error) {
      showStatus("offline", "Not saved: the server cannot be reached. Your edits are kept here.");
    }
    saveInFlight = false;
    if (saveAgain || (editCount > savedCount && saveStatus().dataset.state === "pending")) {
      saveAgain = false;
      saveNow();
    }
  }

  const REFUSED_STATES = new Set(["stale", "invalid", "partial", "offline"]);
  const unsavedEdits = () => autosaving && !config.readOnly && !submitted && editCount > savedCount;
  const refused = () => autosaving && !config.readOnly && !submitted && REFUSED_STATES.has(saveStatus().dataset.state);

  // Leaving the page (or hiding it, after which a browser may discard it) sends pending edits at
  // once. While a save is in flight these edits include its own; if it succeeds the row will be
  // at the next revision, so they are sent from that one.
  function flushOnLeave() {
    if (!unsavedEdits()) return;
    clearTimeout(saveTimer);
    if (!saveInFlight) { saveNow(); return; }
    postSave(saveBody({ revision: Number(form.elements.revision.value) + 1 }));
  }

  window.addEventListener("pagehide", flushOnLeave);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flushOnLeave();
  });
  window.addEventListener("beforeunload", (event) => {
    if (!unsavedEdits() && !refused()) return;
    flushOnLeave();
    event.preventDefault();
    event.returnValue = "";
  });
  // A refused stale save offers three ways out; none discards the coder's edits unasked.
  function describeEdits() {
    const emotion = config.emotions.find((e) => e.id === state.emotion)?.name ?? "—";
    return [
      `Onset ${state.onset ?? "—"}, apex ${state.apex ?? "—"}, offset ${state.offset ?? "—"}`,
      `Emotion ${emotion}`, `AUs ${state.aus.join("+") || "—"}`, `Notes: ${form.elements.notes.value}`,
    ].join("\n");
  }

  const conflictChoices = {
    "keep-mine": (saved) => {
      form.elements.revision.value = saved.revision;
      editCount += 1;
      saveNow();
    },
    "take-saved": (saved) => {
      history.push(JSON.stringify(state)); // undo brings the coder's marks back
      state = { onset: saved.onset, apex: saved.apex, offset: saved.offset, emotion: saved.emotion, aus: [...saved.actionUnits] };
      form.elements.notes.value = saved.notes;
      form.elements.revision.value = saved.revision;
      syncForm();
      draw();
      savedCount = editCount;
      showStatus("saved", `Took the version saved at ${saved.when} (revision ${saved.revision})`);
    },
    "copy-mine": () => {
      const box = document.getElementById("conflict-copy");
      box.hidden = false;
      box.value = describeEdits();
      box.select();
      navigator.clipboard?.writeText(box.value).catch(() => {}); // the selected text remains
    },
  };

  document.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-conflict]")?.dataset.conflict;
    if (!choice) return;
    conflictChoices[choice](JSON.parse(document.getElementById("conflict-saved").textContent));
  });
  document.getElementById("submit-button")?.addEventListener("htmx:beforeRequest", () => {
    clearTimeout(saveTimer);
  });
  // Submitting sends the form with every edit, so the redirect that follows must not warn.
  document.getElementById("submit-button")?.addEventListener("htmx:beforeOnLoad", (event) => {
    if (event.detail.xhr.status === 204) submitted = true;
  });

  // Releasing deletes the draft and gives the clip back to the queue. A draft with edits (saved
  // or not yet) goes only once the coder confirms that they are discarded; then leaving the page
  // neither saves nor warns.
  document.getElementById("release-form")?.addEventListener("submit", (event) => {
    const edited = Number(form.elements.revision.value) > 1 || editCount > 0;
    const question = "Release this clip? Your marks on it are discarded and it goes back to the queue.";
    if (edited && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    document.getElementById("release-discard").value = edited ? "1" : "0";
    clearTimeout(saveTimer);
    submitted = true;
  });

  function change(mutate) {
    if (config.readOnly) return;
    history.push(JSON.stringify(state));
    mutate(state);
    syncForm();
    draw();
    autosave();
  }

  function undo() {
    if (!history.length) return;
    state = JSON.parse(history.pop());
    syncForm();
    draw();
    autosave();
  }

  // A mark names the frame on screen; while the frame asked for is still loading, the key is
  // refused where the coder looks, rather than marking a frame they have not seen.
  function setMark(mark) {
    const notice = document.getElementById("mark-notice");
    if (position !== shownPosition) {
      notice.textContent = `Not marked: frame ${frames[position]} is still loading. Press the key again once it shows.`;
      return;
    }
    notice.textContent = "";
    change((s) => { s[mark] = frames[shownPosition]; });
  }

  function acceptProposedApex() {
    if (config.readOnly || !proposal || proposal.index < 0) return;
    goTo(proposal.index);
    setMark("apex");
  }

  // The proposed interval in one edit, one undo; the coder then sees its apex. A proposal
  // scored before intervals, or one naming frames the clip lacks, offers nothing to accept.
  function acceptProposedInterval() {
    if (config.readOnly || !hasProposedInterval()) return;
    change((s) => {
      s.onset = proposal.onset;
      s.apex = proposal.apex;
      s.offset = proposal.offset;
    });
    goTo(proposal.index);
  }

  function hasProposedInterval() {
    return Boolean(proposal) && [proposal.onsetIndex, proposal.index, proposal.offsetIndex].every((i) => i >= 0);
  }

  // --- proposed AUs: chips the coder accepts one by one, through the same edit as typing ------
  // An AU counts as coded whatever side or intensity the coder gave it (R12B codes 12); an
  // entry kept as an imported sheet wrote it ("ref(7B)") codes no AU.
  function auNumberOf(code) {
    const match = /^[A-Z]?(\d{1,2})[A-E]?$/i.exec(code);  // side (L, R, T, ...), number, intensity
    return match ? Number(match[1]) : null;
  }

  function auCoded(code) {
    return state.aus.some((c) => auNumberOf(c) !== null && auNumberOf(c) === auNumberOf(code));
  }

  function acceptProposedAu(code) {
    if (config.readOnly || !proposal || auCoded(code)) return;
    addActionUnit(code);
  }

  // The key's path: the likeliest proposed AU the coder has not coded, so repeated presses
  // accept the chips in order.
  function acceptNextProposedAu() {
    const next = proposal?.aus.find((code) => !auCoded(code));
    if (next) acceptProposedAu(next);
  }

  function syncProposedAus() {
    for (const chip of document.querySelectorAll(".au-chip[data-au]")) {
      const coded = auCoded(chip.dataset.au);
      chip.classList.toggle("coded", coded);
      if (chip.tagName === "BUTTON") chip.disabled = coded || config.readOnly;
    }
  }

  function jumpToMark(mark) {
    if (state[mark] != null && indexOf(state[mark]) >= 0) goTo(indexOf(state[mark]));
  }

  // --- AU entry -------------------------------------------------------------------------------
  const auEntry = document.getElementById("au-entry");
  const AU_PATTERN = /^\s*([LR])?\s*(?:AU)?\s*(\d{1,2})\s*([A-E])?\s*$/i;

  function addActionUnit(text) {
    const match = AU_PATTERN.exec(text);
    const errorSlot = document.getElementById("error-action_units");
    if (!match || !config.auNumbers.includes(Number(match[2]))) {
      errorSlot.textContent = `${text} is not a FACS AU code (e.g. 4, R12B, L14A).`;
      return false;
    }
    const code = `${(match[1] || "").toUpperCase()}${Number(match[2])}${(match[3] || "").toUpperCase()}`;
    const sameAu = (c) => c.replace(/[A-E]$/i, "") === code.replace(/[A-E]$/i, "");
    errorSlot.textContent = "";
    change((s) => { s.aus = [...s.aus.filter((c) => !sameAu(c)), code]; });
    return true;
  }

  auEntry.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      if (auEntry.value.trim() && addActionUnit(auEntry.value)) auEntry.value = "";
    } else if (event.key === "Escape") {
      auEntry.blur();
      document.getElementById("workbench").focus();
    }
    event.stopPropagation();
  });

  // --- emotions by single keys (letters chosen by the server, see annotator/keymap.py) ---------
  const emotionKeys = new Map();
  for (const emotion of config.emotions) {
    if (!emotion.key) continue;
    emotionKeys.set(emotion.key, emotion.id);
    const hint = document.querySelector(`kbd[data-emotion-key="${emotion.id}"]`);
    if (hint) hint.textContent = emotion.key;
  }

  // --- keyboard: the key map comes from annotator/keymap.py ------------------------------------
  const actions = {
    prev: () => goTo(position - 1), next: () => goTo(position + 1),
    back10: () => goTo(position - 10), fwd10: () => goTo(position + 10),
    first: () => goTo(0), last: () => goTo(frames.length - 1),
    play: togglePlay, help: () => document.getElementById("help").showModal(),
    slower: () => changeSpeed(-1), faster: () => changeSpeed(1),
    loop: () => { const loop = document.getElementById("loop"); loop.checked = !loop.checked; },
    mark_onset: () => setMark("onset"), mark_apex: () => setMark("apex"), mark_offset: () => setMark("offset"),
    jump_onset: () => jumpToMark("onset"), jump_apex: () => jumpToMark("apex"), jump_offset: () => jumpToMark("offset"),
    au_entry: () => auEntry.focus(),
    au_entry_typed: (key) => {
      if (config.readOnly) return false;
      auEntry.focus();
      auEntry.value = key;
      return true;
    },
    undo,
    view: () => {
      const select = document.getElementById("view-mode");
      select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
      viewRemember();
      draw();
      loadVisible();
    },
    zoom: () => { zoomed = !zoomed; viewRemember(); draw(); },
    accept_apex: () => { acceptProposedApex(); return proposal !== null; },
    accept_interval: () => { acceptProposedInterval(); return proposal !== null; },
    accept_au: () => { acceptNextProposedAu(); return proposal !== null; },
    prev_coder_mark: () => jumpToCoderMark(-1),
    next_coder_mark: () => jumpToCoderMark(1),
    toggle_proposals: () => {
      const toggle = document.getElementById("proposal-toggle");
      return toggle ? (toggle.click(), true) : false;
    },
  };
  const actionOfKey = new Map(config.keys.flatMap((entry) => entry.keys.map((key) => [key, entry.action])));

  function keyName(event) {
    if (event.ctrlKey || event.metaKey) return `Ctrl+${event.key.toLowerCase()}`;
    if (event.shiftKey && event.key.length > 1) return `Shift+${event.key}`;
    return event.key;
  }

  function onKey(event) {
    const target = event.target;
    if (target.matches("input, textarea, select") && target.type !== "radio" && target.type !== "checkbox") return;
    if (event.altKey) return;
    const key = keyName(event);
    const action = actionOfKey.get(key);
    let handled = false;
    if (action) {
      // Set before the step draws, so that this very draw records the key's latency.
      if (STEP_ACTIONS.has(action)) pendingKeyTime = event.timeStamp;
      handled = actions[action](event.key) !== false;
    } else if (emotionKeys.has(key)) {
      change((s) => { s.emotion = emotionKeys.get(key); });
      handled = true;
    }
    if (handled) {
      lastInteraction = performance.now();
      event.preventDefault();
    }
  }

  document.addEventListener("keydown", onKey);
  for (const button of document.querySelectorAll(".transport [data-action]")) {
    button.addEventListener("click", () => actions[button.dataset.action]());
  }
  document.getElementById("view-mode").addEventListener("change", () => { viewRemember(); draw(); loadVisible(); });
  document.getElementById("speed").addEventListener("change", viewRemember);
  views.addEventListener("wheel", onWheel, { passive: false });
  views.addEventListener("pointerdown", onPanStart);
  window.addEventListener("pointermove", onPanMove);
  window.addEventListener("pointerup", () => { panFrom = null; });
  for (const mark of ["onset", "apex", "offset"]) {
    form.elements[mark].addEventListener("change", (event) => {
      const value = event.target.value === "" ? null : Number(event.target.value);
      change((s) => { s[mark] = value; });
    });
  }
  for (const radio of form.querySelectorAll("input[name=emotion]")) {
    radio.addEventListener("change", () => change((s) => { s.emotion = Number(radio.value); }));
  }
  form.elements.notes.addEventListener("input", autosave);
  document.getElementById("submit-button")?.addEventListener("htmx:sendError", () => {
    showStatus("offline", "Not submitted: the server cannot be reached. Your edits are kept here.");
  });

  // --- the model's proposal -------------------------------------------------------------------
  function legendFor(shown) {
    const legend = document.createElement("p");
    legend.id = "timeline-legend";
    legend.className = "timeline-legend";
    legend.dataset.testid = "timeline-legend";
    const swatch = (kind) => Object.assign(document.createElement("span"), { className: `swatch ${kind}` });
    legend.append(
      swatch("coder-apex"), " your apex ",
      swatch("proposed-apex"),
      ` model's proposed apex: frame ${shown.apex}, confidence ${shown.percent} (${shown.version})`);
    // Proposals scored before intervals were proposed carry no onset or offset.
    if (shown.offset !== null) {
      const duration = Math.round(msBetween(shown.onset, shown.offset));
      legend.append(
        swatch("proposed-interval"),
        ` proposed onset ${shown.onset}, offset ${shown.offset} (${duration} ms)`);
    }
    return legend;
  }

  // Reads what the server rendered into the proposal panel: at start, and after Hide/Show.
  function applyProposal() {
    const data = document.getElementById("proposal-data");
    proposal = data ? JSON.parse(data.textContent) : null;
    document.getElementById("timeline-legend")?.remove();
    if (proposal) {
      // A proposal scored before intervals has a null onset and offset: no index (-1).
      proposal.index = indexOf(proposal.apex);
      proposal.onsetIndex = indexOf(proposal.onset);
      proposal.offsetIndex = indexOf(proposal.offset);
      proposal.percent = `${Math.round(proposal.confidence * 100)}%`;
      timeline.after(legendFor(proposal));
      const accept = document.getElementById("accept-apex");
      if (accept) accept.disabled = proposal.index < 0;
      const acceptInterval = document.getElementById("accept-interval");
      if (acceptInterval) acceptInterval.disabled = !hasProposedInterval();
    }
    syncProposedAus();
    drawTimeline();
  }

  document.body.addEventListener("htmx:load", (event) => {
    if (event.target.id === "proposal-panel") applyProposal();
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("#accept-apex")) acceptProposedApex();
    if (event.target.closest("#accept-interval")) acceptProposedInterval();
    const chip = event.target.closest("button.au-chip[data-au]");
    if (chip) acceptProposedAu(chip.dataset.au);
  });

  if (config.readOnly) {
    for (const element of form.querySelectorAll("input, textarea")) element.disabled = true;
  }

  // For benchmarks and tests: the position, and key-to-paint latencies in milliseconds.
  window.mestudioWorkbench = {
    latencies,
    get frame() { return frames[shownPosition]; },
    loaded: (layer) => store(sourceLayer[layer]).filter(Boolean).length,
  };

  viewRestore();
  magnifyApply();
  syncForm();
  applyProposal();
  draw();
  loadVisible();
  document.getElementById("workbench").focus();
})();
