// The run page: clicking a code's quote flashes its evidence; selecting chart text fills the
// "add a code" form's document and offsets. Offsets count Unicode code points, as the server
// does: the page shows one character per character of the document text.
(function () {
  function codePoints(s) { return Array.from(s).length; }
  document.querySelectorAll('a.evidence-link').forEach(function (a) {
    a.addEventListener('click', function () {
      var target = document.getElementById(a.getAttribute('href').slice(1));
      if (!target) return;
      document.querySelectorAll('mark.flash').forEach(function (m) { m.classList.remove('flash'); });
      target.classList.add('flash');
    });
  });
  var form = document.querySelector('form.review');
  if (!form) return;
  document.addEventListener('mouseup', function () {
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
    var range = sel.getRangeAt(0);
    var pre = range.startContainer.parentElement && range.startContainer.parentElement.closest('pre.doc');
    var preEnd = range.endContainer.parentElement && range.endContainer.parentElement.closest('pre.doc');
    if (!pre || pre !== preEnd) return;
    var before = document.createRange();
    before.setStart(pre, 0);
    before.setEnd(range.startContainer, range.startOffset);
    var start = codePoints(before.toString());
    var end = start + codePoints(range.toString());
    form.querySelector('[name=add_doc]').value = pre.dataset.doc;
    form.querySelector('[name=add_start]').value = start;
    form.querySelector('[name=add_end]').value = end;
    form.querySelector('.selected-quote').textContent = range.toString().slice(0, 200);
  });
})();
