const path='/work/main/out/daemon/';
const {runTiledPass}=require(path+'engine/tiled-pass.js');
const {sessionInference}=require(path+'runtime/inference.js');
const {sessionOptions}=require(path+'runtime/providers.js');
const ort=require('onnxruntime-node'); const sharp=require('sharp');
const [id, left, top, ...cfg] = process.argv.slice(2);
async function load(){const {data}=await sharp('/usr/share/doc/opencv-doc/examples/data/baboon.jpg').extract({left:+left,top:+top,width:160,height:160}).removeAlpha().raw().toBuffer({resolveWithObject:true});
 const n=160*160, f=new Float32Array(3*n); for(let i=0;i<n;i++)for(let c=0;c<3;c++)f[c*n+i]=data[i*3+c]/255; return {width:160,height:160,channels:3,data:f};}
async function run(img,infer,tile,overlap,pad){const out=new Float32Array(3*640*640);
 await runTiledPass(img,infer,{scale:4,tileWidth:tile,tileHeight:tile,overlap,edgePad:pad,inputMultiple:1,minTile:32,checkpoint(){}},(y,count,rows)=>{for(let c=0;c<3;c++)out.set(rows.subarray(c*count*640,(c+1)*count*640),c*640*640+y*640)}); return out;}
function psnr(a,b){let s=0;for(let i=0;i<a.length;i++){const q=x=>Math.round(Math.min(1,Math.max(0,x))*255);const d=q(a[i])-q(b[i]);s+=d*d;} const mse=s/a.length; return 10*Math.log10(255*255/mse);}
(async()=>{const img=await load();
 const s=await ort.InferenceSession.create(`/root/.cache/upscale/models/${id}.onnx`, sessionOptions('cpu')); const infer=sessionInference(s);
 for (const pad of [8, 0]) { const whole=await run(img,infer,0,0,pad);
 for (const c of cfg) { const [t,o]=c.split('/').map(Number); const tiled=await run(img,infer,t,o,pad); console.log(id,left,top,'pad',pad,'tile',t,'overlap',o,'psnr',psnr(tiled,whole).toFixed(2)); } }
})();
