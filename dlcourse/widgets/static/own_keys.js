// The view of dlcourse.widgets.keys.KeyScope: nothing to see. Once the widget box it belongs to
// has attached it, every element that takes the focus in that box (a slider's handle, a checkbox)
// gets the attribute (model "attribute") under which JupyterLab leaves the keys to it. The
// attribute must sit on the focused element itself: JupyterLab matches its shortcuts' selectors
// against that element first. Gives up after about ten seconds unattached.
export default {
  render({ model, el }) {
    el.style.display = "none";
    const attribute = model.get("attribute");
    const own = (event) => event.target.setAttribute(attribute, "");
    let box = null;
    let frames = 600;
    const attach = () => {
      if (el.parentElement) {
        box = el.parentElement;
        box.addEventListener("focusin", own);
      } else if (frames-- > 0) requestAnimationFrame(attach);
    };
    attach();
    return () => box && box.removeEventListener("focusin", own);
  },
};
