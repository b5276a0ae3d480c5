// visor report: values under the pointer on every chart. The charts are
// drawn without this script; it only adds the hover.
(function () {
  "use strict";
  var el = document.getElementById("visor-data");
  if (!el) return;
  var data = JSON.parse(el.textContent);
  var byId = {};
  data.charts.forEach(function (c) { byId[c.id] = c; });
  function esc(s) { return String(s).replace(/[&<>"]/g, function (ch) { return "&#" + ch.charCodeAt(0) + ";"; }); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(ms) {
    var d = new Date(ms);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }
  function num(v, unit) {
    if (v === null || v === undefined) return "–";
    var s;
    if (unit === "B/s") {
      var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
      while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
      return (i ? v.toFixed(1) : Math.round(v)) + " " + u[i] + "/s";
    }
    s = v.toLocaleString("en-US", { maximumFractionDigits: v >= 100 ? 0 : v >= 1 ? 1 : 3 });
    if (unit === "%") return s + " %";
    if (unit === "ms") return s + " ms";
    if (unit === "/s") return s + "/s";
    return s;
  }
  Array.prototype.forEach.call(document.querySelectorAll("svg[data-chart]"), function (svg) {
    var c = byId[svg.getAttribute("data-chart")];
    if (!c) return;
    var fig = svg.parentNode, tip = document.createElement("div"), cursor = svg.querySelector(".cursor");
    tip.className = "tip";
    tip.style.display = "none";
    fig.appendChild(tip);
    var t0 = +svg.getAttribute("data-t0"), t1 = +svg.getAttribute("data-t1");
    var x0 = +svg.getAttribute("data-x0"), x1 = +svg.getAttribute("data-x1");
    var vb = svg.viewBox.baseVal;
    svg.addEventListener("mousemove", function (ev) {
      var r = svg.getBoundingClientRect();
      var ux = (ev.clientX - r.left) / r.width * vb.width;
      var t = t0 + (ux - x0) / (x1 - x0) * (t1 - t0);
      var best = -1, bd = Infinity;
      for (var i = 0; i < data.t.length; i++) {
        var d = Math.abs(data.t[i] + data.per / 2 - t);
        if (d < bd) { bd = d; best = i; }
      }
      if (best < 0 || bd > data.per * 1.5) { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); return; }
      var cx = x0 + (data.t[best] + data.per / 2 - t0) / (t1 - t0) * (x1 - x0);
      cursor.setAttribute("x1", cx); cursor.setAttribute("x2", cx); cursor.setAttribute("visibility", "visible");
      var html = "<b>" + clock(data.t[best]) + " UTC</b>";
      for (var k = c.names.length - 1; k >= 0; k--) html += "<span>" + esc(c.names[k]) + ":</span> " + num(c.v[k][best], c.unit) + "<br>";
      tip.innerHTML = html;
      tip.style.display = "block";
      var left = (ev.clientX - fig.getBoundingClientRect().left) + 14;
      if (left + tip.offsetWidth > fig.clientWidth) left -= tip.offsetWidth + 28;
      tip.style.left = left + "px";
      tip.style.top = (ev.clientY - fig.getBoundingClientRect().top + 10) + "px";
    });
    svg.addEventListener("mouseleave", function () { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); });
  });
})();
